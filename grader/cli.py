"""Command line: `backprop-grader assign` and `backprop-grader grade`."""

import argparse
import sys
from pathlib import Path

from . import build, local


def assign(args):
    root = Path(args.root).resolve()
    zip_path = root / "dist" / "autograder.zip"
    template, solution = build.build(root, zip_path=zip_path)
    print(f"Wrote {template.parent} and {zip_path}\n")
    reference = local.grade(zip_path, solution, root / "dist" / "graded" / "reference")
    blank = local.grade(zip_path, template, root / "dist" / "graded" / "template")
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
    for submission in args.submissions:
        out = Path(args.out) / Path(submission).stem
        graded = local.grade(args.zip, submission, out)
        print(local.table(graded) + f"\n  results: {out / 'results.json'}\n")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="backprop-grader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("assign", help="build student_template/ and dist/autograder.zip, "
                                           "then grade the reference and the blank template")
    p.add_argument("--root", default=".", help="the project directory (default: .)")
    p.set_defaults(run=assign)
    p = commands.add_parser("grade", help="grade submissions (.ipynb or .zip) with the zip")
    p.add_argument("submissions", nargs="+")
    p.add_argument("--zip", default="dist/autograder.zip")
    p.add_argument("--out", default="graded", help="where results go (default: graded/)")
    p.set_defaults(run=grade)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
