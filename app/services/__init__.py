"""The domain: plain functions that hold Hookline's rules, free of Flask requests."""
