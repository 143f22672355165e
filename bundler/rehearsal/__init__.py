"""``bundler rehearse``: a dress rehearsal of a whole edition on the data builders' generated example sources:
the plan of every step (run.py) and running them side by side (steps.py)."""
