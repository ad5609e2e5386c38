"""A class report from a graded folder: one self-contained HTML page, and its plots as PNGs.

For the class: the distribution of totals and how submissions that could not be graded count.
Per question: the share of students with full marks, the mean score, how many left it
unanswered, and the most common failures, grouped by mistake (measured and expected numbers are
masked, so one mistake on different inputs counts once). Per submission: what was flagged for
course staff (timeouts, edited protected cells, answers read from boxes, renamed files, ...).
"""

import base64
import csv
import html
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from grader.classroom import batch
from grader.feedback import tables
from grader.results import clip
from grader.verdicts import Kind

MAX_PATTERN = 200      # characters of a failure message kept for grouping
COMMON_FAILURES = 5    # shown per question

# A decimal value standing on its own: 0.4142, -1.25e-05, 3.0, 1e-3. Not an integer, and not a
# number that is part of a name (x1.5), of an exponent (tanh**2.5, e^0.5) or of another number.
_DECIMAL = re.compile(r"(?<![\w.*^])(?:-(?=\d))?"
                      r"(?:\d+\.\d+(?:[eE][-+]?\d+)?|\d+(?:\.\d+)?[eE][-+]?\d+)"
                      r"(?!\w|\.\d)")
@dataclass
class QuestionSummary:
    """One question over the whole class."""
    name: str
    possible: float
    extra_credit: bool
    scores: list = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)   # (case, pattern) -> submissions
    examples: dict = field(default_factory=dict)         # (case, pattern) -> a submission
    unanswered: int = 0                                  # submissions that left it unanswered

    @property
    def full_marks(self):
        return sum(s == self.possible for s in self.scores) / len(self.scores)

    @property
    def mean(self):
        return sum(self.scores) / len(self.scores)


def load_class(graded_dir):
    """The Graded submissions under `graded_dir` (only those saved completely), in key order."""
    return [batch.load(marker.parent)
            for marker in sorted(Path(graded_dir).glob(f"*/{batch.DONE}"))]


def pending(graded_dir):
    """Keys listed in GRADED_DIR/scores.csv as not graded yet (an interrupted run)."""
    path = Path(graded_dir) / "scores.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [row["submission"] for row in csv.DictReader(f)
                if row.get("status") == "not graded yet"]


def pattern(message):
    """A failure message's first line with its standalone decimal values masked as '#', cut at
    a word boundary: the same mistake on different inputs gives the same pattern."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return clip(_DECIMAL.sub("#", first), MAX_PATTERN)


def unanswered(case):
    """True if `case` failed because the student answered nothing."""
    return case.kind in (Kind.UNANSWERED, Kind.NOT_DEFINED)


def summarize(gradeds):
    """{question name: QuestionSummary} over every submission. A submission that could not be graded
    scores 0 on every question (as on Gradescope) but adds no failure messages."""
    questions = {}
    for graded in gradeds:
        report = graded.report
        for question in report.questions:
            q = questions.setdefault(question.name, QuestionSummary(
                question.name, question.possible, question.extra_credit))
            q.scores.append(question.score)
            if report.error:
                continue  # listed under "Not graded", not as a failure of every case
            blank = False
            for case in question.cases:
                if case.passed:
                    continue
                if unanswered(case):
                    blank = True
                    continue
                key = (case.name, pattern(case.message))
                q.failures[key] += 1
                q.examples.setdefault(key, graded.submission.name)
            q.unanswered += blank
    return questions


def write(graded_dir, out_dir):
    """Write report.html and the PNG plots to `out_dir`; return the page's path."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    gradeds = load_class(graded_dir)
    questions = summarize(gradeds)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    names = [q.name + (" (extra credit)" if q.extra_credit else "") for q in questions.values()]
    figure, axes = plt.subplots(figsize=(8, 0.9 + 0.32 * max(len(names), 1)))
    axes.barh(names[::-1], [100 * q.full_marks for q in list(questions.values())[::-1]],
              color="#4c72b0")
    axes.set_xlabel("students with full marks (%)")
    axes.set_xlim(0, 100)
    figure.tight_layout()
    figure.savefig(out_dir / "pass_rates.png", dpi=100)
    plt.close(figure)

    totals = [g.report.totals()[0] for g in gradeds]
    possible = max((g.report.totals()[1] for g in gradeds), default=1) or 1
    figure, axes = plt.subplots(figsize=(8, 3.5))
    axes.hist(totals, bins=20, range=(0, possible), color="#55a868", edgecolor="white")
    axes.set_xlabel(f"total score (of {possible:g}, extra credit not included)")
    axes.set_ylabel("students")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    figure.savefig(out_dir / "scores.png", dpi=100)
    plt.close(figure)

    page = out_dir / "report.html"
    page.write_text(_html(gradeds, questions, pending(graded_dir), out_dir))
    return page


def _image(path, alt):
    return (f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(path.read_bytes()).decode()}">')


def _student(graded):
    path = Path(graded.submission) / "student.json"
    student = json.loads(path.read_text()) if path.exists() else {}
    return student.get("name") or ""


def _mean_text(gradeds):
    if not gradeds:
        return "no total"
    regular, extra = ([g.report.totals()[k] for g in gradeds] for k in (0, 2))
    possible = max(g.report.totals()[1] for g in gradeds)
    has_extra = any(q.extra_credit for g in gradeds for q in g.report.questions)
    return (tables.score_text(round(statistics.mean(regular), 2), possible,
                              round(statistics.mean(extra), 2), has_extra)
            + f" (median {statistics.median(regular):g})")


def _summary(gradeds, waiting):
    scored = [g for g in gradeds if not g.report.error]
    failed = len(gradeds) - len(scored)
    flagged = [g for g in scored if tables.flags(g.report)]
    text = [f"{len(gradeds)} submissions graded; mean total {_mean_text(gradeds)}."]
    if failed:
        text.append(
            f"{failed} of them could not be graded (see <a href=\"#not-graded\">Not graded</a>): "
            f"{'it scores' if failed == 1 else 'they score'} 0, as on Gradescope, and "
            f"{'counts' if failed == 1 else 'count'} as 0 in every mean, share and plot on this "
            f"page. Mean over the {len(scored)} graded ones only: {_mean_text(scored)}.")
    else:
        text.append("Every submission could be graded; means and shares count them all.")
    if flagged:
        text.append(f"{len(flagged)} graded submission{'s are' if len(flagged) > 1 else ' is'} "
                    "flagged for a look by course staff (see "
                    "<a href=\"#flagged\">Flagged submissions</a>).")
    if waiting:
        text.append(f"{len(waiting)} more submission{'s were' if len(waiting) > 1 else ' was'} "
                    "not graded yet (an interrupted run) and are not on this page: run the same "
                    "<code>grade</code> command again, then this report.")
    return "".join(f"<li>{item}</li>" for item in text)


def _question_rows(questions):
    rows = []
    for q in questions.values():
        name = html.escape(q.name) + (" <small>(extra credit)</small>" if q.extra_credit else "")
        rows.append(f"<tr><td>{name}</td><td class=\"num\">{100 * q.full_marks:.0f}%</td>"
                    f"<td class=\"num\">{q.mean:.2f} / {q.possible:g}</td>"
                    f"<td class=\"num\">{q.unanswered}</td></tr>")
    return "".join(rows)


def _failures(questions):
    sections = []
    for q in questions.values():
        common = q.failures.most_common(COMMON_FAILURES)
        if not common and not q.unanswered:
            continue
        items = "".join(
            f"<li><b>{count}</b> × <i>{html.escape(case)}</i>: {html.escape(message)} "
            f"<small>(e.g. {html.escape(q.examples[(case, message)])})</small></li>"
            for (case, message), count in common)
        others = sum(q.failures.values()) - sum(count for _, count in common)
        more = (f"<p class=\"aside\">{others} more failure{'s' if others > 1 else ''} of "
                f"{len(q.failures) - len(common)} other kinds.</p>" if others else "")
        blank = (f"<p class=\"aside\">Not answered: {q.unanswered} "
                 f"submission{'s' if q.unanswered != 1 else ''} (not counted above).</p>"
                 if q.unanswered else "")
        sections.append(f"<h3>{html.escape(q.name)}</h3>"
                        + (f"<ol>{items}</ol>" if items else "") + more + blank)
    return "".join(sections) or "<p>None.</p>"


def _flagged(gradeds):
    rows = []
    for graded in gradeds:
        found = {k: v for k, v in tables.flags(graded.report).items() if k != "not graded"}
        if not found:
            continue
        details = "".join(f"<li><b>{html.escape(kind)}</b>: "
                          f"{html.escape(', '.join(items))}</li>" for kind, items in found.items())
        rows.append(f"<tr><td class=\"key\">{html.escape(graded.submission.name)}</td>"
                    f"<td class=\"key\">{html.escape(_student(graded))}</td>"
                    f"<td class=\"num\">{html.escape(tables.total_text(graded.report))}</td>"
                    f"<td class=\"detail\"><ul class=\"flags\">{details}</ul></td></tr>")
    if not rows:
        return "<p>None.</p>"
    return ("<table class=\"wide\"><tr><th>submission</th><th>student</th><th>total</th>"
            f"<th>flags</th></tr>{''.join(rows)}</table>")


def _html(gradeds, questions, waiting, out_dir):
    broken = "".join(
        f"<li>{html.escape(g.submission.name)}"
        + (f" ({html.escape(_student(g))})" if _student(g) else "")
        + f": {html.escape(g.report.error)}</li>" for g in gradeds if g.report.error)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HW1.2 Backpropagation: class report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 62em; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }}
h2 {{ margin-top: 1.8em; border-bottom: 1px solid #ddd; }}
img {{ display: block; max-width: 100%; height: auto; margin: 1em 0; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
table.wide {{ width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: .3em .8em; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }} td.num {{ text-align: right; white-space: nowrap; }}
td.key {{ white-space: nowrap; }} td.detail {{ overflow-wrap: anywhere; width: 100%; }}
ul.summary {{ padding-left: 1.2em; }}
li {{ margin: .3em 0; overflow-wrap: anywhere; }} small, .aside {{ color: #666; }}
ul.flags {{ margin: 0; padding-left: 1.1em; }}
</style></head><body>
<h1>HW1.2 Backpropagation: class report</h1>
<ul class="summary">{_summary(gradeds, waiting)}</ul>
<h2>Score distribution</h2>{_image(out_dir / "scores.png", "histogram of total scores")}
<h2>Questions</h2>{_image(out_dir / "pass_rates.png", "share of full marks per question")}
<table><tr><th>question</th><th>full marks</th><th>mean score</th><th>not answered</th></tr>
{_question_rows(questions)}</table>
<h2 id="flagged">Flagged submissions</h2>
<p class="aside">Graded, but worth a look: the same flags as the <code>flags</code> column of
scores.csv.</p>{_flagged(gradeds)}
<h2>Most common failures</h2>
<p class="aside">Per question, failed cases grouped by message (numbers such as measured and
expected values masked as #); unanswered questions are counted separately.</p>
{_failures(questions)}
<h2 id="not-graded">Not graded</h2>{f"<ul>{broken}</ul>" if broken else "<p>None.</p>"}
</body></html>
"""
