"""``python -m baselines``: see baselines/cli.py."""
import sys

from baselines.cli import main

sys.exit(main())
