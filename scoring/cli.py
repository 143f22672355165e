"""Command line of the scoring program: platform mode and local mode, exit codes, no tracebacks."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

from scoring.challenge import Challenge, Result, has_labels, load_reference, read_reference_info
from scoring.errors import ReferenceDataError, SubmissionError, missing_dependency
from scoring.outputs import write_outputs
from scoring.report import number
from scoring.submission import Submission

EXIT_SCORED, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Score a submission against hidden reference data, exactly as the competition server does.

platform mode (how CodaLab and Codabench run it):
  score.py INPUT OUTPUT
      reads the reference from INPUT/ref and the extracted submission from INPUT/res,
      writes OUTPUT/scores.txt, OUTPUT/scores.json and OUTPUT/detailed_results.html

local mode (what participants and organisers run):
  score.py --reference REF SUBMISSION [--output DIR]
      SUBMISSION is the zip you would upload, a folder, or the single prediction file;
      prints the scores, and writes the three output files to DIR when given.
      With a label-free reference (the starting kit's references/<split>/) it runs every
      check the server runs and prints 'valid: N of N items', but no score.

exit codes: 0 scored, 1 submission invalid (one 'error:' line on stderr),
            2 usage or reference data problem
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="score.py", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="INPUT OUTPUT, or SUBMISSION with --reference")
    parser.add_argument("--reference", type=Path, metavar="REF", help="reference folder (local mode)")
    parser.add_argument("--output", type=Path, metavar="DIR", help="where to write the output files (local mode)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    return parser


def score_submission(reference_folder: Path, submission_path: Path) -> tuple[Challenge, Result]:
    """Load the reference, read the submission and compute every leaderboard column."""
    challenge, reference = load_reference(reference_folder)
    with Submission(submission_path, challenge.max_submission_bytes) as submission:
        return challenge, challenge.score(reference, submission)


def format_scores(challenge: Challenge, result: Result) -> str:
    """A small text table of the scores, primary first, and the counts and warnings."""
    width = max(len(c.label) for c in challenge.columns)
    lines = [f"{challenge.title}"]
    lines += [f"  {c.label:<{width}}  {number(result.scores[c.key], c.digits)}" for c in challenge.columns]
    lines += [f"  {name.replace('_', ' ')}: {value}" for name, value in result.counts.items()]
    lines += [f"warning: {w}" for w in result.warnings + result.score_warnings]
    return "\n".join(lines)


def validity(result: Result) -> str:
    """What a check against a label-free reference says: how many items, the warnings, and that it gives no score."""
    predicted, total = result.coverage
    lines = [f"valid: {predicted} of {total} items; this reference holds no labels, so no score"]
    return "\n".join(lines + [f"warning: {w}" for w in result.warnings])


def run(argv: Optional[List[str]] = None) -> int:
    """Parse the arguments, score, write the outputs; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.reference is not None:
        if len(args.paths) != 1:
            parser.error("with --reference give exactly one SUBMISSION (a zip, a folder or a prediction file)")
        reference, submission, output = args.reference, Path(args.paths[0]), args.output
    else:
        if len(args.paths) != 2 or args.output is not None:
            parser.error("give INPUT OUTPUT (platform mode) or --reference REF SUBMISSION (local mode)")
        reference = Path(args.paths[0]) / "ref"
        submission = Path(args.paths[0]) / "res"
        output = Path(args.paths[1])
    labelled = reference.is_dir() and has_labels(read_reference_info(reference))
    if reference.is_dir() and not labelled and args.reference is None:
        raise ReferenceDataError(f"{reference} holds no labels (a participant's check folder); the server needs the "
                                 "hidden reference")
    challenge, result = score_submission(reference, submission)
    if not labelled:
        if not args.quiet:
            print(validity(result))
        return EXIT_SCORED
    if output is not None:
        write_outputs(output, challenge, result)
    if not args.quiet:
        print(format_scores(challenge, result))
    return EXIT_SCORED


def one_line(message: str) -> str:
    """``message`` on one line: a name holding a line break (a zip member's, say) cannot split the error."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def main(argv: Optional[List[str]] = None) -> int:
    """Run, turning every failure into one 'error:' line and an exit code (never a traceback)."""
    try:
        return run(argv)
    except (SubmissionError, ReferenceDataError) as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except ImportError as exc:  # Pillow missing from this Python, found when a challenge needing it is loaded
        print(missing_dependency(exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # the participant must never see a traceback
        if os.environ.get("VIPRIORS_DEBUG"):
            raise
        print(
            f"error: internal error in the scoring program ({type(exc).__name__}); "
            "please tell the organisers, who can rerun it with VIPRIORS_DEBUG=1",
            file=sys.stderr,
        )
        return EXIT_USAGE
