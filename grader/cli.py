"""Command line: build the autograder, grade submissions, report on a graded class."""

import argparse
import sys
import textwrap
from pathlib import Path

from grader import project


class _Formatter(argparse.HelpFormatter):
    """Help text wrapped at spaces only: a path stays whole even when it has hyphens."""

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False,
                             break_long_words=False)


def assign_command(args):
    from grader.assign import build

    if args.root is None:
        root, found = project.root()
        if root is None:
            print("backprop-grader assign: no project here (a folder with setup.py, reference/ "
                  "and grader/) and none installed: give --root PATH.", file=sys.stderr)
            return 2
        print(f"Building {root}: {found}.", flush=True)
    else:
        root = Path(args.root).resolve()
        print(f"Building {root}: given with --root.", flush=True)
    outcome = build.assign(root)
    print(outcome.tables())
    if not outcome.ok:
        for problem in outcome.problems:
            print(f"ERROR: {problem}", file=sys.stderr)
        print(f"Nothing was written: {outcome.template.parent} and {outcome.zip_path} are "
              "unchanged.", file=sys.stderr)
        return 1
    print(f"Wrote {outcome.template.parent} and {outcome.zip_path}")
    return 0


def grade_command(args):
    from grader.classroom import batch
    from grader.feedback import tables

    try:  # before anything is unpacked or graded
        zip_path = project.find_zip(args.zip)
    except project.MissingZip as error:
        print(f"backprop-grader grade: {error}", file=sys.stderr)
        return 2
    missing = [item for item in args.inputs if not Path(item).exists()]
    if missing:
        print(f"backprop-grader grade: no such file or folder: {', '.join(missing)}",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    entries = batch.find_submissions(args.inputs, out / ".unpacked")
    if not entries:
        print("No submissions found.", file=sys.stderr)
        return 1
    try:
        graded = batch.grade_all(entries, zip_path, out, args.workers)
    except KeyboardInterrupt:
        batch.write_csv(entries, out, zip_path, out / "scores.csv")
        done = sum(batch.is_done(e, out, zip_path) for e in entries)
        print(f"\nInterrupted with {done} of {len(entries)} graded; run the same command again "
              "to grade the rest.", file=sys.stderr)
        return 130
    batch.write_csv(entries, out, zip_path, out / "scores.csv")
    reports = [batch.load(out / entry.key).report for entry in entries]
    if len(entries) <= 3:
        for entry, report in zip(entries, reports):
            print(tables.table(report, entry.key, staff=True) + "\n")
    flagged = sum(tables.status(r) != "graded" for r in reports)
    print(f"Graded {len(graded)} submission(s), {len(entries) - len(graded)} already graded"
          + (f"; {flagged} flagged or not graded (see the status and flags columns)"
             if flagged else "") + f".\nScores: {out / 'scores.csv'}; "
          f"feedback: {out}/<submission>/feedback.txt; zip: {zip_path}")
    return 0


def report_command(args):
    from grader.classroom import report as class_report

    graded = Path(args.graded)
    if not list(graded.glob("*/graded-with")):
        print(f"backprop-grader report: {graded} holds no graded submissions (the --out folder "
              "of `backprop-grader grade`).", file=sys.stderr)
        return 2
    out = Path(args.out or graded / "report")
    page = class_report.write(graded, out)
    print(f"Wrote {page} and its plots in {out}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="backprop-grader", description=__doc__,
                                     formatter_class=_Formatter)
    commands = parser.add_subparsers(dest="command", required=True)
    root, _ = project.root()
    p = commands.add_parser("assign", formatter_class=_Formatter,
                            help="build student_template/ and dist/autograder.zip, then grade "
                                 "the reference and the blank template")
    p.add_argument("--root", default=None,
                   help="the project directory (default: the project the current directory "
                        "is in, else the one this package is installed from"
                        + (f", now {root}" if root else "") + ")")
    p.set_defaults(run=assign_command)
    p = commands.add_parser(
        "grade", formatter_class=_Formatter,
        help="grade submissions: notebooks, zips, folders of them, or Gradescope export "
             "zips/folders",
        description="Grade submissions exactly as Gradescope does, in parallel; write "
                    "OUT/<submission>/ (results.json, sealed.json, feedback.txt, output.txt) "
                    "and OUT/scores.csv. Run it again to grade only what is new or changed.")
    p.add_argument("inputs", nargs="+", help="notebooks, submission zips, folders of them, or "
                                             "Gradescope export zips or folders")
    p.add_argument("--zip", help="the autograder zip (default: dist/autograder.zip of the "
                                 "project the current directory is in, else of the one this "
                                 "package is installed from"
                                 + (f", now {root / project.ZIP}" if root else "")
                                 + "; else ./dist/autograder.zip)")
    p.add_argument("--out", default="graded", help="where results go (default: graded/ in the "
                                                   "current directory)")
    p.add_argument("--workers", type=int, default=None,
                   help="submissions graded at once (default: one per core)")
    p.set_defaults(run=grade_command)
    p = commands.add_parser("report", formatter_class=_Formatter,
                            help="an HTML report on a graded class",
                            description="Write report.html (self-contained) and its plots.")
    p.add_argument("graded", help="the output folder of `grade`")
    p.add_argument("--out", help="where the report goes (default: GRADED/report)")
    p.set_defaults(run=report_command)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
