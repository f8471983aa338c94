"""`make run`: upgrade the database, load demo data when empty, run web + worker + scheduler.

It runs in development (HOOKLINE_ENV=development, with the allowances for local receivers
such as the demo receiver Hookline serves itself). Without REDIS_URL an embedded Redis is
started for the three processes and stopped on exit; its address is recorded (see
config.record_run_settings) so that `flask --app wsgi …` in another shell, `emit` for one,
queues into it while this runs.
"""
import os
import subprocess
import sys
from pathlib import Path

from dotenv import load_dotenv
from honcho.environ import parse_procfile
from honcho.manager import Manager

from .config import ROOT, clear_run_settings, record_run_settings, run_file
from .demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from .embedded_redis import EmbeddedRedis

# The allowances for receivers on this machine, such as the demo receiver Hookline serves.
LOCAL_RECEIVERS = {
    "WEBHOOK_ALLOW_HTTP": "1",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
}


def _flask(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT, env=env, check=True, text=True, capture_output=True,
    ).stdout


def main():
    load_dotenv(ROOT / ".env", override=False)
    env = dict(os.environ)
    # Demo data with a known password: never a production setup.
    env["HOOKLINE_ENV"] = "development"
    for key, value in LOCAL_RECEIVERS.items():
        env.setdefault(key, value)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    port = env.get("PORT") or "5000"
    env["PORT"] = port
    env.setdefault("GUNICORN_CMD_ARGS", f"--bind 127.0.0.1:{port} --workers 2 --threads 4")
    redis = None
    try:
        if not env.get("REDIS_URL"):
            redis = EmbeddedRedis().start()
            env["REDIS_URL"] = redis.url
            record_run_settings(env)
            print(f"Started embedded Redis at {redis.url} (recorded in {run_file()} for "
                  "commands in other shells)")
        print(_flask(env, "db", "upgrade") or "Database is up to date.")
        print(_flask(env, "demo", "--if-empty"))
        print(f"\nHookline is starting at http://127.0.0.1:{port}")
        print(f"Demo login: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")
        print("In another shell: .venv/bin/flask --app wsgi emit --org <organization id> "
              "scan.completed '{\"scan_id\": \"scan-1\"}'  (the id is on the API tokens page)")
        print("Ctrl-C stops everything.\n")
        procfile = parse_procfile((ROOT / "Procfile").read_text())
        manager = Manager()
        for name, process in procfile.processes.items():
            manager.add_process(name, process, env=env, cwd=str(ROOT))
        manager.loop()
        return manager.returncode or 0
    except subprocess.CalledProcessError as exc:
        print(exc.stdout, exc.stderr, sep="\n", file=sys.stderr)
        return exc.returncode
    finally:
        if redis is not None:
            clear_run_settings(redis.url)
            redis.stop()


if __name__ == "__main__":
    sys.exit(main())
