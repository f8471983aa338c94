"""Figures measured by the reliability and security tests, kept in tests/output/reliability.json."""
import json
import os
import threading
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "output" / "reliability.json"
_lock = threading.Lock()


def database_kind():
    """'postgresql' when the suite runs on PostgreSQL, else 'sqlite'."""
    for name in ("TEST_DATABASE_URL", "DATABASE_URL"):
        if os.environ.get(name, "").startswith(("postgres://", "postgresql")):
            return "postgresql"
    return "sqlite"


def record(scenario, **figures):
    """Store the figures of one scenario (per database) and print them for the test log."""
    key = f"{scenario} [{database_kind()}]"
    with _lock:
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        try:
            stored = json.loads(OUTPUT.read_text())
        except (FileNotFoundError, ValueError):
            stored = {}
        stored[key] = figures
        OUTPUT.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    print(f"\n{key}: {json.dumps(figures, sort_keys=True)}")
