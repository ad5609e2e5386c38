"""Plain text from a graded submission's Report: the score table, the total, the flags for
course staff, and the feedback a student reads.

This is the one place scores are turned into text: `backprop-grader grade`, `assign`, the
autograder's own output (grader.gradescope) and the class report all use it, so a total reads the
same everywhere: "35.5 / 40.5 + 5 extra credit".
"""

from grader.feedback.graph import render_text
from grader.verdicts import Flag, Status


def score_text(regular, possible, extra=0.0, has_extra=True):
    """'35.5 / 40.5 + 5 extra credit' (the extra credit part only if the homework has any)."""
    return f"{regular:g} / {possible:g}" + (f" + {extra:g} extra credit" if has_extra else "")


def total_text(report):
    """The submission's total, from Report.totals()."""
    regular, possible, extra = report.totals()
    return score_text(regular, possible, extra, any(q.extra_credit for q in report.questions))


def flags(report):
    """{kind: [details]} for course staff, in the order of `Flag` (sealed grading flags every
    problem it meets, a submission that could not be graded included)."""
    order = {flag.value: k for k, flag in enumerate(Flag)}
    return dict(sorted(((kind, details) for kind, details in report.flags.items() if details),
                       key=lambda item: order.get(item[0], len(order))))


def flag_text(report, separator="; ", skip=()):
    """'timeout: step1_forward, step2_backward; edited: ...' ('' when nothing is flagged),
    without the kinds in `skip`."""
    return separator.join(f"{kind}: {', '.join(details)}" for kind, details in
                          flags(report).items() if kind not in skip)


def status(report):
    """'graded' when nothing is flagged, 'graded, flagged' when something is, and
    'not graded: <reason>' when the submission could not be graded."""
    if report.error:
        return f"not graded: {report.error}"
    return "graded, flagged" if flags(report) else "graded"


def table(report, title=None, staff=False):
    """A plain-text score table: one line per question, then the total. With `staff`, each
    question's status and the flags follow (for course staff only)."""
    rows = report.questions
    width = max([len(q.name) for q in rows] + [8])
    lines = [title] if title else []
    for question in rows:
        line = f"  {question.name:<{width}}  {question.score:>5g} / {question.possible:<5g}"
        marks = (["extra credit"] if question.extra_credit else []) \
            + ([question.status.value] if staff and question.status != Status.FINISHED else [])
        lines.append((line + "  " + ", ".join(marks)) if marks else line.rstrip())
    text = total_text(report)  # the regular score right-aligned with the question scores
    lines.append(f"  {'total':<{width}}  " + " " * (5 - len(text.split(" ")[0])) + text)
    if report.error:
        lines.append(f"  not graded: {report.error}")
    if staff:
        lines += [f"  flagged, {kind}: {detail}" for kind, details in flags(report).items()
                  if kind != Flag.NOT_GRADED.value for detail in details]
    return "\n".join(lines)


def case_text(case):
    """A failed case's message, with the graph its check built as a table."""
    text = case.message
    if case.picture:
        text += "\n" + render_text(case.picture)
    return text


def feedback(report, title=None):
    """What the student sees on Gradescope, as text: scores, then every failed case."""
    lines = [table(report, title), ""]
    lines += report.messages
    for question in report.questions:
        failed = [c for c in question.cases if not c.passed]
        if failed:
            lines.append(f"\n{question.name} ({question.score:g} / {question.possible:g})")
            lines += [f"  - {c.name}: " + case_text(c).replace("\n", "\n    ") for c in failed]
    return "\n".join(lines) + "\n"
