"""RQ job functions and the scheduling adapter; jobs take ids, never ORM objects."""
