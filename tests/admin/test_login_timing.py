"""Login timing does not tell which emails have accounts: an unknown email costs the same
password check as a known one with a wrong password."""
import statistics
import time

import pytest

TRIES = 7


@pytest.mark.parametrize("config_overrides", [{"LOGIN_RATE_LIMIT": "1000 per minute"}])
def test_unknown_and_known_emails_take_alike_time(client, admin):
    def seconds(email):
        started = time.perf_counter()
        response = client.post("/login", data={"email": email, "password": "wrong-password"})
        elapsed = time.perf_counter() - started
        assert response.status_code == 401
        return elapsed

    seconds("nobody@example.test"), seconds(admin.email)  # warm both paths up
    unknown, known = [], []
    for _ in range(TRIES):  # interleaved, so a busy moment of the machine hits both alike
        unknown.append(seconds("nobody@example.test"))
        known.append(seconds(admin.email))
    slower, faster = sorted((statistics.median(unknown), statistics.median(known)))[::-1]
    assert slower / faster <= 1.5, (unknown, known)
