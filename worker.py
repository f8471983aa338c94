"""Worker processes: `python worker.py` runs jobs; `python worker.py scheduler` runs retries."""
import logging
import sys
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker

from app import create_app_or_exit
from app.extensions import db
from app.services.dispatch import stop_taking, stopping


class HooklineWorker(SimpleWorker):
    """Runs jobs in this process (no fork per job) with the app loaded once."""

    def request_stop(self, signum, frame):
        # A delivery job running now sends what it holds and returns instead of taking or
        # waiting for more.
        stop_taking()
        return super().request_stop(signum, frame)

    def perform_job(self, *args, **kwargs):
        try:
            return super().perform_job(*args, **kwargs)
        finally:
            db.session.remove()


# How long to wait before trying Redis again after it went away.
RECONNECT_SECONDS = 1

log = logging.getLogger("hookline.worker")


def keep_running(run, *args):
    """Run `run(*args)`, starting it again whenever Redis goes away, until it returns.

    Losing Redis must not end the process: the database holds every delivery, and the
    scheduler registers its periodic jobs again (the sweeper among them) on each start. A
    process asked to stop does not start again.
    """
    while True:
        try:
            return run(*args)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if stopping():
                log.warning("Redis is unreachable (%s) while stopping; stopped", exc)
                return None
            log.warning("Redis is unreachable (%s); trying again in %s s", exc, RECONNECT_SECONDS)
            time.sleep(RECONNECT_SECONDS)


# A long-running worker's delivery job waits this long for new deliveries before it ends
# (jobs/enqueue.py, IdleWaiter); a burst worker's ends as soon as nothing is due.
DELIVERY_JOB_IDLE_SECONDS = 2.0


def run_worker(app, burst=False):
    if not burst:
        app.config["DELIVERY_JOB_IDLE_SECONDS"] = DELIVERY_JOB_IDLE_SECONDS
    worker = HooklineWorker([app.task_queue], connection=app.redis)
    return worker.work(burst=burst, with_scheduler=False, logging_level="INFO")


def run_scheduler(app):
    from app.jobs.scheduling import register_periodic_jobs, scheduler

    target = scheduler()
    register_periodic_jobs(target)
    target.run()


def main(argv):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app_or_exit()
    with app.app_context():
        if len(argv) > 1 and argv[1] == "scheduler":
            keep_running(run_scheduler, app)
        elif len(argv) > 1 and argv[1] == "burst":
            keep_running(run_worker, app, True)
        else:
            keep_running(run_worker, app)


if __name__ == "__main__":
    main(sys.argv)
