"""Fault tests: real worker, scheduler and Redis processes killed and restarted mid-burst."""
