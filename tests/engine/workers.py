"""Real workers for engine tests: the production worker class, run in the calling thread or
in a thread of its own (with its own app context and database session)."""
import re
import threading
import time

from rq.job import Job
from rq.timeouts import TimerDeathPenalty

from app.jobs.scheduling import scheduler
from app.jobs.sweeper import sweep
from worker import HooklineWorker


class InProcessWorker(HooklineWorker):
    """The production worker, able to run in any thread of the test process: no command
    channel (its listener thread takes a second to stop and nobody sends commands here), no
    signal handlers (only the main thread may install them), job time limits kept by a
    timer instead of SIGALRM."""

    death_penalty_class = TimerDeathPenalty

    def subscribe(self):
        self.pubsub_thread = None

    def unsubscribe(self):
        pass

    def _install_signal_handlers(self):
        pass


def drain(app, max_jobs=None):
    """A real worker takes every queued job (or at most `max_jobs`) in the calling thread,
    then returns; True if it ran any."""
    return InProcessWorker([app.task_queue], connection=app.redis).work(
        burst=True, logging_level="WARNING", max_jobs=max_jobs
    )


_EXCEPTION_LINE = re.compile(r"^[\w.]+(?:Error|Exception|Detected)\b.*$", re.M)


def failed_jobs(app):
    """What made each failed job of the queue fail, one line each (an exception in a job
    fails the job, not the worker)."""
    failures = []
    for job_id in app.task_queue.failed_job_registry.get_job_ids():
        result = Job.fetch(job_id, connection=app.redis).latest_result()
        text = (result.exc_string if result else None) or ""
        lines = _EXCEPTION_LINE.findall(text)
        failures.append(lines[-1] if lines else f"job {job_id} failed")
    return failures


def run_due_work(app):
    """Everything the scheduler and the sweeper would queue now, run by a real worker:
    retries that are due, and every due delivery that has no job."""
    scheduler().enqueue_jobs()
    sweep(grace_seconds=0)
    drain(app)


class BackgroundWorker:
    """A worker process in miniature: a thread with its own app context that takes jobs one
    at a time as they come and moves due retries onto the queue like the scheduler, until
    stop()."""

    POLL_SECONDS = 0.05

    def __init__(self, app):
        self.app = app
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        with self.app.app_context():
            while not self._stop.is_set():
                try:
                    scheduler().enqueue_jobs()
                    worked = drain(self.app, max_jobs=1)
                except Exception as exc:  # handed to the test, which fails on it
                    self.errors.append(exc)
                    return
                if not worked:
                    self._stop.wait(self.POLL_SECONDS)

    def stop(self, timeout=60.0):
        """Stop taking jobs and wait for the job in hand to end; False if it did not."""
        self._stop.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()


def timed_in_thread(app, call, limit, cut_off):
    """Run call() in a thread with its own app context and time it. If it is still running
    after `limit` seconds, cut_off() is called to end it (for example by stopping the
    receiver it waits on). Returns (its result, seconds it took, whether it overran)."""
    result, errors = [], []

    def run():
        with app.app_context():
            try:
                result.append(call())
            except Exception as exc:  # handed to the test, which fails on it
                errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(limit)
    overran = thread.is_alive()
    if overran:
        cut_off()
        thread.join(60)
    took = time.monotonic() - started
    assert not errors, errors
    return (result[0] if result else None), took, overran
