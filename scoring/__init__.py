"""vipriors-bench scoring program.

Runs inside the platforms' stock docker images, so it imports only the standard library, numpy
and Pillow, and works on Python 3.9+ with numpy 1.22+. Entry point: ``score.py``.
"""
