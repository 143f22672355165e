"""Scoring program entry point: ``python3 score.py INPUT OUTPUT`` or ``--reference REF SUBMISSION``.

Run ``python3 score.py --help`` for both modes and the exit codes.
"""

import os
import sys

if __name__ == "__main__":
    # Make the package importable however the script is started (repo checkout or platform program/).
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from scoring.errors import missing_dependency

    try:
        from scoring.cli import main
    except ImportError as exc:  # numpy missing from this Python
        print(missing_dependency(exc), file=sys.stderr)
        sys.exit(2)
    sys.exit(main())
