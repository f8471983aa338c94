"""Factories for test data, going through the same services the product uses."""
import itertools

from app.services import accounts, tokens

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_org(name=None):
    return accounts.create_organization(name or f"Org {next(_seq)}")


def make_user(org, role="admin", email=None, password=PASSWORD, name="Jane Doe"):
    email = email or f"{role}{next(_seq)}@example.test"
    return accounts.create_user(org.id, email, password, role, name)


def make_token(org, name="test token"):
    """Returns (ApiToken, plaintext)."""
    return tokens.create_token(org.id, name)
