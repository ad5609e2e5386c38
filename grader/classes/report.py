"""A class report from a graded folder: one self-contained HTML page, and its plots as PNGs.

Per question: the share of students with full marks and the mean score. For the class: the
distribution of totals. Per question: the most common failure messages, with numbers masked so
that the same mistake on different inputs counts once.
"""

import base64
import html
import re
from collections import Counter
from pathlib import Path

from grader.classes import batch

from grader.classes import workers as local


def collect(graded_dir):
    """Graded submissions under `graded_dir` (only those saved completely)."""
    return [batch.load(marker.parent)
            for marker in sorted(Path(graded_dir).glob(f"*/{batch.DONE}"))]


def summarize(gradeds):
    questions = {}
    for graded in gradeds:
        for name, (score, most) in local.scores(graded).items():
            q = questions.setdefault(name, {"scores": [], "max": most, "failures": Counter(),
                                            "examples": {}})
            q["scores"].append(score)
        if graded.report.get("error"):
            continue  # not graded at all: listed on its own, not as a failure of every case
        for question in graded.report["questions"]:
            q = questions[question["name"]]
            for case in question["cases"]:
                if not case["passed"]:
                    key = (case["name"], pattern(case["message"]))
                    q["failures"][key] += 1
                    q["examples"].setdefault(key, graded.submission.name)
    totals = [local.totals(g)[0] for g in gradeds]
    return questions, totals


def ungraded(gradeds):
    """(submission, reason) for the submissions that could not be graded at all."""
    return [(g.submission.name, g.report["error"]) for g in gradeds if g.report.get("error")]


def pattern(message):
    """A failure message with its numbers masked and only its first line kept."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return re.sub(r"(?<![\w.])-?\d+(\.\d+)?(e[-+]?\d+)?(?!\w)", "#", first)[:200]


def write(graded_dir, out_dir):
    """Write report.html and the PNG plots to `out_dir`; return the page's path."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    gradeds = collect(graded_dir)
    questions, totals = summarize(gradeds)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(questions)
    full = [sum(s == q["max"] for s in q["scores"]) / len(q["scores"]) for q in questions.values()]

    figure, axes = plt.subplots(figsize=(8, 4))
    axes.barh(names[::-1], [100 * f for f in full[::-1]], color="#4c72b0")
    axes.set_xlabel("students with full marks (%)")
    axes.set_xlim(0, 100)
    figure.tight_layout()
    figure.savefig(out_dir / "pass_rates.png", dpi=100)
    plt.close(figure)

    possible = max((local.totals(g)[1] for g in gradeds), default=1)
    figure, axes = plt.subplots(figsize=(8, 3.5))
    axes.hist(totals, bins=20, range=(0, possible), color="#55a868", edgecolor="white")
    axes.set_xlabel(f"total score (of {possible:g}, extra credit not included)")
    axes.set_ylabel("students")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    figure.savefig(out_dir / "scores.png", dpi=100)
    plt.close(figure)

    page = out_dir / "report.html"
    page.write_text(_html(gradeds, questions, totals, full, out_dir))
    return page


def _image(path):
    return f'<img alt="{path.stem}" src="data:image/png;base64,' \
           f'{base64.b64encode(path.read_bytes()).decode()}">'


def _html(gradeds, questions, totals, full, out_dir):
    mean = sum(totals) / len(totals) if totals else 0
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{100 * f:.0f}%</td>"
        f"<td>{sum(q['scores']) / len(q['scores']):.2f} / {q['max']:g}</td></tr>"
        for (name, q), f in zip(questions.items(), full))
    failures = []
    for name, q in questions.items():
        common = q["failures"].most_common(5)
        if not common:
            continue
        items = "".join(
            f"<li><b>{count}</b> × <i>{html.escape(case)}</i>: {html.escape(message)} "
            f"<small>(e.g. {html.escape(q['examples'][(case, message)])})</small></li>"
            for (case, message), count in common)
        failures.append(f"<h3>{html.escape(name)}</h3><ol>{items}</ol>")
    broken = "".join(f"<li>{html.escape(key)}: {html.escape(reason)}</li>"
                     for key, reason in ungraded(gradeds))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>HW1.2 Backpropagation: class report</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: .3em .8em; }}
th {{ background: #f2f2f2; }} li {{ margin: .3em 0; }} small {{ color: #777; }}
</style></head><body>
<h1>HW1.2 Backpropagation: class report</h1>
<p>{len(gradeds)} submissions graded; mean total {mean:.2f}.</p>
<h2>Score distribution</h2>{_image(out_dir / "scores.png")}
<h2>Questions</h2>{_image(out_dir / "pass_rates.png")}
<table><tr><th>question</th><th>full marks</th><th>mean score</th></tr>{rows}</table>
<h2>Most common failures</h2>{"".join(failures) or "<p>None.</p>"}
<h2>Not graded</h2>{f"<ul>{broken}</ul>" if broken else "<p>None.</p>"}
</body></html>
"""
