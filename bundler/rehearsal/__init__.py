"""``bundler rehearse``: a dress rehearsal of a whole edition on generated data (run.py), its steps (steps.py),
the generated canonical datasets (synthetic.py) and the Motion-JPEG AVI writer they use (avi.py)."""
