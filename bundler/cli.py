"""``python -m bundler``: build, check and try competition bundles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

from bundler.bundles.build import PLATFORMS, build, default_output
from bundler.bundles.check import bundle_warnings, check_bundle
from bundler.bundles.references import given_references
from bundler.config.competition import Competition, ConfigError, UnknownPhase, edition_folder, load_competition
from bundler.config.event import EVENT, edition_names, load_event
from bundler.data.builder import Selection, builders, shipped_editions
from bundler.data.builder import build as build_data
from bundler.data.engine import MANIFEST, DataError, manifest_counts
from bundler.ground.editions import DEFAULT_EDITION, build_folder
from bundler.ground.facts import DEFAULT_PLATFORM
from bundler.pages.preview import write_preview
from bundler.pages.site import write_site
from bundler.platforms.worker import run_phase
from bundler.rehearsal.run import DEFAULT_SIZE, SIZES, RehearsalError, chosen, exit_code, rehearse
from bundler.results.command import phase_reference, publish
from bundler.results.rescore import default_workers
from scoring.report import number, score_text

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

DESCRIPTION = f"""\
Build, check, try and preview competition bundles for Codabench (and self-hosted CodaLab).

Every command works on one edition, the folder competitions/EDITION/ (its event.yaml and competitions):
--edition EDITION (default {DEFAULT_EDITION}), or --competitions DIR for an edition's folder anywhere;
outputs go to build/EDITION/.

  build NAME     validate competitions/EDITION/NAME/competition.yaml and write the Codabench bundle
                 build/EDITION/NAME_codabench.zip (--platform codalab: NAME_codalab.zip, CodaLab v1;
                 --data DIR: references from a 'bundler data' folder)
  check BUNDLE   lint a bundle (ours or hand-made) against its platform's rules
  try BUNDLE SUB run the bundle's scoring program on a submission as the platform's worker does
  preview NAME   render the pages to build/EDITION/NAME_preview/ (open index.html in a browser)
  data NAME      turn the canonical dataset into public/, reference/ and manifest.json for NAME
  site           render the event page build/EDITION/site/index.html and challenges.md from the edition's
                 event.yaml (--publish NAME=DIR: a challenge's final ranking, once it has closed)
  results NAME   after the close: rescore the final submissions, rank them with 95% intervals and ties,
                 analyse the ranking's stability, check the platform's scores, write build/EDITION/NAME_results/
                 (results.json, .csv, .html, .tex, .md and the figures as SVG)
  rehearse       run the whole edition on generated data in build/EDITION/rehearsal/: data, bundles, check, try,
                 baselines, made-up entrants, results and the event page, with a summary of every step

exit codes: 0 done, 1 invalid config / bundle / submission, 2 usage
"""


def _folders(items: List[str], option: str, expected: str, parser: argparse.ArgumentParser) -> Dict[str, Path]:
    """The KEY=DIR values of a repeatable ``option``, each folder resolved; a malformed one is a usage error."""
    folders = {}
    for item in items:
        key, sep, folder = item.partition("=")
        if not sep or not key or not folder:
            parser.error(f"{option} expects {expected}, not {item!r}")
        folders[key] = Path(folder).expanduser().resolve()
    return folders


def _overrides(items: List[str], parser: argparse.ArgumentParser) -> Dict[str, Path]:
    return _folders(items, "--reference", "PHASE=DIR (a phase number or name)", parser)


def _program() -> str:
    """How the user started us: ``python -m bundler`` or the ``vipriors-bench`` console command."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "python -m bundler" if name in ("", "__main__.py", "-c") else name


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--edition", metavar="EDITION", default=argparse.SUPPRESS,
                        help=f"the edition to work on: competitions/EDITION/ of the current folder, else of the "
                             f"checkout (default {DEFAULT_EDITION}); outputs go to build/EDITION/")
    common.add_argument("--competitions", type=Path, metavar="DIR", default=argparse.SUPPRESS,
                        help="instead of --edition: the folder of an edition, anywhere (its event.yaml and "
                             "competitions); outputs go to build/<its name>/ beside the folder holding it")
    parser = argparse.ArgumentParser(prog=_program(), description=DESCRIPTION, parents=[common],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **kwargs: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[common], **kwargs)

    make = command("build", help="build a competition's bundle")
    make.add_argument("name", help="a competition of the edition, e.g. detection")
    make.add_argument("--reference", action="append", default=[], metavar="PHASE=DIR",
                      help="hidden reference folder of a phase (number or name); repeatable")
    make.add_argument("--data", type=Path, metavar="DIR",
                      help="a 'bundler data' output folder: each phase's reference is DIR/reference/<its split>")
    make.add_argument("--output", type=Path,
                      help="where to write the bundle (default build/EDITION/NAME_codabench.zip or NAME_codalab.zip)")
    make.add_argument("--platform", choices=list(PLATFORMS), default=DEFAULT_PLATFORM,
                      help="codabench (version 2 bundle, default) or codalab (v1 bundle, for a self-hosted CodaLab)")
    look = command("preview", help="render a competition's pages as a static site")
    look.add_argument("name", help="a competition of the edition, e.g. detection")
    look.add_argument("--reference", action="append", default=[], metavar="PHASE=DIR",
                      help="hidden reference folder of a phase (number or name), as for build; repeatable")
    look.add_argument("--data", type=Path, metavar="DIR",
                      help="a 'bundler data' output folder, as for build: the data page states its counts")
    look.add_argument("--output", type=Path, help="the folder to (re)write (default build/EDITION/NAME_preview)")
    data = command("data", help="prepare a challenge's data from the canonical dataset",
                               description="Write OUT/public (what participants download), OUT/reference (the hidden "
                                           "reference for score.py and build --reference), OUT/private (test renaming, and "
                                           "seed.txt, the secret seed of every draw and shuffle) and "
                                           "OUT/manifest.json. Files are hard-linked where possible; a second run verifies "
                                           "and changes nothing.")
    data.add_argument("name", choices=sorted(builders()), help="the competition")
    data.add_argument("--source", type=Path, required=True, help="the canonical dataset, in its distributed layout")
    data.add_argument("--out", type=Path, required=True, help="an empty or new folder (or one this command made)")
    data.add_argument("--splits", choices=shipped_editions(),
                      help="reproduce an edition's official subsets (default: draw new ones)")
    data.add_argument("--seed", type=int,
                      help="the key of every draw and shuffle (new subsets, test names and order; with --splits only the "
                           "test order): keep it secret. Default: the one OUT's marker recorded (copied to "
                           "OUT/private/seed.txt), else a new random one, recorded there")
    data.add_argument("--size", action="append", default=[], metavar="SPLIT=N",
                      help="without --splits: items per split (per class where the challenge has classes); repeatable")
    event = command("site", help="render the event page of the edition's challenges from its event.yaml")
    event.add_argument("--event", type=Path, help="the event file (default the edition's event.yaml)")
    event.add_argument("--output", type=Path, help="the folder to (re)write (default build/EDITION/site)")
    event.add_argument("--publish", action="append", default=[], metavar="NAME=DIR",
                       help="show challenge NAME's final ranking from DIR, the output of 'bundler results' (e.g. "
                            "build/EDITION/NAME_results); refused before its last phase has ended; repeatable. Without it the "
                            "page shows no results")
    event.add_argument("--rehearsal", action="store_true",
                       help="publish the given results even before the close, every page saying that they come from a "
                            "rehearsal and are not real results")
    final = command(
        "results", help="rescore the final submissions: ranking, 95%% intervals, ties, platform check",
        description="Rescore every submission of a phase with the scoring program, rank them with 95% bootstrap "
                    "intervals of the primary score and tie groups, analyse how stable the ranking is (rank "
                    "distributions, Kendall's tau, Holm-adjusted pairwise tests), compare with the platform's scores, "
                    "and write results.json with its views: results.csv, results.html, results.tex, results.md and the "
                    "figures as SVG. A second run over the same files is read from the cache in OUTPUT/.cache.")
    final.add_argument("name", help="a competition of the edition, e.g. detection")
    final.add_argument("--submissions", type=Path, required=True, metavar="PATH",
                       help="the platform's download of the phase's submissions: Codabench's bulk_submissions.zip "
                            "(Submissions: tick them, download), CodaLab's 'download leaderboard results' zip, or a "
                            "folder of submission zips (name = entrant)")
    final.add_argument("--leaderboard", type=Path, metavar="FILE",
                       help="with Codabench's bulk_submissions.zip: the phase's leaderboard download (Results tab: "
                            "'This CSV', or the zip of 'All CSV'), which selects the submissions that count and gives "
                            "the stored scores to check")
    source = final.add_mutually_exclusive_group(required=True)
    source.add_argument("--reference", type=Path, metavar="DIR", help="the phase's reference folder")
    source.add_argument("--data", type=Path, metavar="DIR", help="a 'bundler data' folder: the phase's split is used")
    final.add_argument("--phase", metavar="PHASE", help="phase number or name (default: the last)")
    final.add_argument("--bootstrap", type=int, default=1000, metavar="B", help="resamples of the test items (default 1000)")
    final.add_argument("--seed", type=int, default=0, help="seed of the resamples (default 0)")
    final.add_argument("--workers", type=int, default=default_workers(), metavar="W",
                       help=f"processes (default: the cores, {default_workers()})")
    final.add_argument("--output", type=Path, help="the folder to write (default build/EDITION/NAME_results)")
    lint = command("check", help="lint a bundle against its platform's rules (v1: CodaLab, v2: Codabench)")
    lint.add_argument("bundle", type=Path)
    lint.add_argument("--no-leak-guard", action="store_true",
                      help="skip the leak guard (which scores and searches every public file): the platform's rules only")
    trial = commands.add_parser("try", help="score a submission with a bundle, as the platform's worker does",
                                description="Run the bundle's scoring program on a submission in the platform worker's "
                                            "layout and print the leaderboard row, rounded as the leaderboard shows it.")
    trial.add_argument("bundle", type=Path, help="a bundle zip, as 'build' writes it (or one made by hand)")
    trial.add_argument("submission", type=Path, help="the zip a participant would upload")
    trial.add_argument("--phase", default="1", metavar="PHASE", help="phase number or name (default 1)")
    dress = command("rehearse", help="rehearse the whole edition on generated data, in a folder of its own",
                    description="For every competition of event.yaml: generate small learnable data in the canonical "
                                "layout, then run 'data', 'build --data' for each platform, 'check', 'try' with the "
                                "kit's sample, a one-epoch baseline predicting val and test (skipped without torch), "
                                "made-up entrants (perfect, noisy, empty, broken), 'results'; then 'site --rehearsal'. "
                                "Each command's output is in OUT/logs/, the summary in OUT/summary.txt. Exit 1 if a "
                                "step failed.")
    dress.add_argument("--out", type=Path, metavar="DIR",
                       help="the rehearsal's folder (default build/EDITION/rehearsal); a folder an earlier rehearsal made is "
                            "replaced, any other must be empty")
    dress.add_argument("--size", choices=list(SIZES), default=DEFAULT_SIZE,
                       help=f"how much data to generate (default {DEFAULT_SIZE}: a few dozen items per challenge; "
                            f"{', '.join(f'{k}: {n} times as many' for k, n in SIZES.items() if n > 1)})")
    dress.add_argument("--no-baselines", action="store_true", help="skip the baselines (the slowest steps)")
    dress.add_argument("--only", action="append", metavar="NAME", help="rehearse only this competition; repeatable")
    dress.add_argument("--jobs", type=int, default=default_workers(), metavar="J",
                       help=f"steps run at once (default: the cores, {default_workers()})")
    return parser


def _competition(args: argparse.Namespace) -> Competition:
    """The competition NAME of the competitions folder the command works on."""
    return load_competition(args.name, args.competitions / args.name)


def _build(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    overrides = _overrides(args.reference, parser)
    competition = _competition(args)
    output = args.output or default_output(args.name, args.platform, args.competitions)
    data = args.data.expanduser().resolve() if args.data else None
    built = build(competition, output, overrides, args.platform, data)
    print(f"wrote {built.path} ({args.platform} bundle, {built.size / 1024:.0f} KiB, "
          f"{len(competition.config.phases)} phase(s))")
    return EXIT_OK


def _preview(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    competition = _competition(args)
    data = args.data.expanduser().resolve() if args.data else None
    references = given_references(competition, _overrides(args.reference, parser), data)
    folder = args.output or build_folder(args.competitions) / f"{args.name}_preview"
    files = write_preview(competition, folder, references, manifest_counts(data) if data else None)
    print(f"wrote {len(files)} pages to {folder}; open {folder / 'index.html'}")
    return EXIT_OK


def _sizes(items: List[str], parser: argparse.ArgumentParser) -> Dict[str, int]:
    sizes = {}
    for item in items:
        split, _, number = item.partition("=")
        if not number.isdigit() or int(number) < 1:
            parser.error(f"--size expects SPLIT=N with N a positive whole number, not {item!r}")
        sizes[split] = int(number)
    return sizes


def _data(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    sizes = _sizes(args.size, parser)
    if sizes and args.splits:
        parser.error("--size goes with drawn subsets, not --splits: official splits have fixed sizes")
    builder = builders()[args.name]
    selection = Selection(args.splits, args.seed, sizes, competitions=args.competitions)
    outcome = build_data(builder, args.source, args.out, selection)
    manifest = json.loads((args.out / MANIFEST).read_text(encoding="utf-8"))
    for split, counts in manifest["counts"].items():
        print(f"{split}: {counts['total']} item(s), {len(counts['per_class'])} class(es)")
    print(f"{args.out}: {outcome.linked} linked, {outcome.copied} copied, {outcome.written} written, "
          f"{outcome.verified} already in place and verified; manifest.json lists {len(manifest['files'])} files")
    for about in manifest["references"].values():
        print(f"{about['path']}/: {'public' if about['public'] else 'HIDDEN'}, {about['note']}")
    for warning in outcome.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for note in outcome.notes:
        print(f"note: {note}")
    return EXIT_OK


def _site(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    folder = args.output or build_folder(args.competitions) / "site"
    publish = _folders(args.publish, "--publish", "NAME=DIR (a challenge and the folder 'bundler results' wrote)", parser)
    event = load_event(args.event or args.competitions / EVENT, args.competitions)
    pages = write_site(event, folder, publish, rehearsal=args.rehearsal)
    shown = f"; final rankings of {', '.join(publish)}{' (a rehearsal)' if args.rehearsal else ''}" if publish else ""
    print(f"wrote {', '.join(str(p) for p in pages)} ({len(event.competitions)} challenges on {event.platform.name}, "
          f"open {event.opens.text} to {event.closes.text}{shown})")
    return EXIT_OK


def _results(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.bootstrap < 0 or args.workers < 1:
        parser.error("--bootstrap must be 0 or more and --workers 1 or more")
    competition = _competition(args)
    data = args.data.expanduser().resolve() if args.data else None
    number, phase, reference = phase_reference(competition, args.phase, args.reference, data)
    output = (args.output or build_folder(args.competitions) / f"{args.name}_results").expanduser().resolve()
    published = publish(competition, args.submissions.expanduser().resolve(), reference.expanduser().resolve(), phase,
                        output, args.bootstrap, args.seed, args.workers,
                        args.leaderboard.expanduser().resolve() if args.leaderboard else None)
    challenge = competition.challenge
    primary = challenge.primary
    print(f"{competition.config.title}, phase {number} ({phase}): {primary.label}, {args.bootstrap} resamples, seed {args.seed}")
    if not challenge.resampled:
        print(f"  no intervals and no tie groups: the {challenge.task} challenge declares no resampler (resampled = False)")
    for ranked in published.ranked:
        if ranked.rank is None:
            continue
        scores = ranked.scored.scores or {}
        interval = f"  [{ranked.ci[0]:.4f}, {ranked.ci[1]:.4f}]" if ranked.ci else ""
        tie = f"  tied with {', '.join(ranked.tied_with)}" if ranked.tied_with else ""
        print(f"  {ranked.rank:>3}  {ranked.entry.entrant[:30]:<30}  {score_text(scores[primary.key], 4):>6}{interval}{tie}")
    for ranked in published.ranked:
        for column, platform, ours in ranked.mismatches:
            print(f"  platform disagrees: {ranked.entry.entrant}, {column}: platform {platform}, rescored {ours}")
        if ranked.scored.error:
            print(f"  invalid: {ranked.entry.entrant} ({ranked.entry.submission}): {ranked.scored.error}")
    print(f"wrote {', '.join(str(path) for path in published.files)}")
    return EXIT_OK


def _rehearse(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    try:
        competitions = chosen(args.only, load_event(args.competitions / EVENT).competitions)
        out = args.out or build_folder(args.competitions) / "rehearsal"
        steps = rehearse(competitions, out, args.size, not args.no_baselines, args.jobs)
    except RehearsalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted; the rehearsal's folder holds what was done", file=sys.stderr)
        return EXIT_USAGE
    return exit_code(steps)


def _check(args: argparse.Namespace) -> int:
    problems = check_bundle(args.bundle, leaks=not args.no_leak_guard)
    for problem in problems:
        print(f"{args.bundle}: {problem}")
    if not problems:
        for warning in bundle_warnings(args.bundle):
            print(f"{args.bundle}: warning: {warning}")
        print(f"{args.bundle}: no problems found")
    return EXIT_INVALID if problems else EXIT_OK


def _try(args: argparse.Namespace) -> int:
    for path in (args.bundle, args.submission):
        if not path.is_file():
            print(f"error: {path}: not found", file=sys.stderr)
            return EXIT_USAGE
    try:
        trial = run_phase(args.bundle, args.submission, args.phase)
    except UnknownPhase as exc:
        print(f"error: {args.bundle}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sys.stderr.write(trial.stderr)
    if trial.failure:
        sys.stdout.write(trial.stdout)
        print(f"submission failed (exit {trial.returncode}): {trial.failure}")
        return EXIT_INVALID
    for line in trial.stdout.splitlines():  # the scores themselves are shown once, as the leaderboard row
        if line.startswith("warning:"):
            print(line)
    width = max(len(label) for label in trial.row)
    print(f"leaderboard row ({trial.platform} worker):")
    for label, value in trial.row.items():
        print(f"  {label:<{width}}  {'(empty)' if value is None else number(value, trial.digits[label])}")
    empty = [label for label, value in trial.row.items() if value is None]
    if trial.dropped:
        print(f"scores.txt keys matching no column (dropped by {trial.platform}): {', '.join(trial.dropped)}")
    if empty:
        print(f"columns that would stay empty: {', '.join(empty)}")
        return EXIT_INVALID
    return EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    """Run a subcommand; config problems are all printed, each with file:line."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.competitions = _edition(args, parser)
    return _run(args, parser)


def _edition(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Path:
    """The folder of the edition the command works on: ``--competitions DIR``, else that of ``--edition`` (default
    the upcoming one); an edition named but absent is a usage error naming the editions there are."""
    if "competitions" in args and "edition" in args:
        parser.error("give --edition or --competitions, not both")
    if "competitions" in args:
        return args.competitions.expanduser().resolve()
    folder = edition_folder(getattr(args, "edition", DEFAULT_EDITION)).resolve()
    if "edition" in args and not (folder / EVENT).is_file():
        known = ", ".join(edition_names(folder.parent)) or "none"
        parser.error(f"--edition {args.edition}: no {folder / EVENT}; the editions of {folder.parent} are {known}")
    return folder


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """The subcommand ``args`` names, its problems printed one per line."""
    try:
        if args.command == "build":
            return _build(args, parser)
        if args.command == "preview":
            return _preview(args, parser)
        if args.command == "data":
            return _data(args, parser)
        if args.command == "site":
            return _site(args, parser)
        if args.command == "check":
            return _check(args)
        if args.command == "results":
            return _results(args, parser)
        if args.command == "rehearse":
            return _rehearse(args, parser)
        return _try(args)
    except DataError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); nothing was written", file=sys.stderr)
        return EXIT_INVALID
