"""Command line: build the autograder, grade submissions, report on a graded class."""

import argparse
import sys
from pathlib import Path

from grader.classes import workers as local


def assign(args):
    from grader.assign import build

    root = Path(args.root).resolve()
    zip_path = root / "dist" / "autograder.zip"
    template, solution = build.build(root, zip_path=zip_path)
    print(f"Wrote {template.parent} and {zip_path}\n")
    reference, blank = local.grade(zip_path, solution), local.grade(zip_path, template)
    for graded, name in [(reference, "reference"), (blank, "template")]:
        local.write(graded, root / "dist" / "graded" / name)
    print("Reference solution\n" + local.table(reference) + "\n")
    print("Blank student template\n" + local.table(blank) + "\n")
    problems = [f"the reference solution lost points on {name}"
                for name, (score, most) in local.scores(reference).items() if score < most]
    problems += [f"the blank template earned points on {name}"
                 for name, (score, _) in local.scores(blank).items() if score > 0]
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


def grade(args):
    from grader.classes import batch

    out = Path(args.out)
    entries = batch.collect(args.inputs, out / ".unpacked")
    if not entries:
        print("No submissions found.", file=sys.stderr)
        return 1
    try:
        graded = batch.grade_all(entries, args.zip, out, args.workers)
    except KeyboardInterrupt:
        batch.write_csv(entries, out, args.zip, out / "scores.csv")
        done = sum(batch.is_done(e, out, args.zip) for e in entries)
        print(f"\nInterrupted with {done} of {len(entries)} graded; run the same command again "
              "to grade the rest.", file=sys.stderr)
        return 130
    batch.write_csv(entries, out, args.zip, out / "scores.csv")
    if len(entries) <= 3:
        for entry in entries:
            print(local.table(batch.load(out / entry.key)) + "\n")
    print(f"Graded {len(graded)} submission(s), {len(entries) - len(graded)} already graded. "
          f"Scores: {out / 'scores.csv'}; feedback: {out}/<submission>/feedback.txt")
    return 0


def report(args):
    from grader.classes import report as class_report

    out = Path(args.out or Path(args.graded) / "report")
    page = class_report.write(Path(args.graded), out)
    print(f"Wrote {page} and its plots in {out}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="backprop-grader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("assign", help="build student_template/ and dist/autograder.zip, "
                                           "then grade the reference and the blank template")
    p.add_argument("--root", default=".", help="the project directory (default: .)")
    p.set_defaults(run=assign)
    p = commands.add_parser("grade", help="grade submissions: notebooks, zips, folders of them, "
                                          "or Gradescope export zips/folders")
    p.add_argument("inputs", nargs="+")
    p.add_argument("--zip", default="dist/autograder.zip", help="the autograder zip")
    p.add_argument("--out", default="graded", help="where results go (default: graded/)")
    p.add_argument("--workers", type=int, default=None,
                   help="submissions graded at once (default: one per core)")
    p.set_defaults(run=grade)
    p = commands.add_parser("report", help="an HTML report on a graded class")
    p.add_argument("graded", help="the output folder of `grade`")
    p.add_argument("--out", help="where the report goes (default: GRADED/report)")
    p.set_defaults(run=report)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
