"""Worker processes: `python worker.py` runs jobs; `python worker.py scheduler` runs retries."""
import logging
import sys

from rq import SimpleWorker

from app import create_app
from app.extensions import db


class HooklineWorker(SimpleWorker):
    """Runs jobs in this process (no fork per job) with the app loaded once."""

    def perform_job(self, *args, **kwargs):
        try:
            return super().perform_job(*args, **kwargs)
        finally:
            db.session.remove()


def run_worker(app, burst=False):
    worker = HooklineWorker([app.task_queue], connection=app.redis)
    return worker.work(burst=burst, with_scheduler=False, logging_level="INFO")


def run_scheduler(app):
    from app.jobs.scheduling import register_periodic_jobs, scheduler

    target = scheduler()
    register_periodic_jobs(target)
    target.run()


def main(argv):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app()
    with app.app_context():
        if len(argv) > 1 and argv[1] == "scheduler":
            run_scheduler(app)
        elif len(argv) > 1 and argv[1] == "burst":
            run_worker(app, burst=True)
        else:
            run_worker(app)


if __name__ == "__main__":
    main(sys.argv)
