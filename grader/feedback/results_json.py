"""Gradescope's results.json for a Report: the one definition, whatever happened.

The layout is Otter's (a visible summary of the public cases, then one entry per question,
visible once grades are published when `show_hidden` is set), written here so that what a
student reads is HTML we control: every message escaped, and a failing check's graph drawn.
Extra credit follows Gradescope's convention: an extra-credit question's entry has a maximum of 0
and its points come on top, so the points possible are the regular total everywhere.
"""

import html

from grader.feedback.graph import html_message, render_html

MAX_PICTURES = 1   # graphs drawn per question and entry: the first failing check's


def results_json(report, config):
    """Gradescope's results.json for `report`, with the settings of otter_config.json."""
    show_hidden = bool(config.get("show_hidden", False))
    tests = []
    if not show_hidden or config.get("force_public_test_summary", True):
        public = [(q, [c for c in q.cases if not c.hidden]) for q in report.questions]
        passed = all(c.passed for _, cases in public for c in cases)
        tests.append({"name": "Public Tests", "visibility": "visible", "output_format": "html",
                      "status": "passed" if passed else "failed",
                      "output": "".join(_question_html(q, cases) for q, cases in public
                                        if cases)})
    for question in report.questions:
        tests.append({"name": question.name, "score": round(question.score, 5),
                      "max_score": 0 if question.extra_credit else round(question.possible, 5),
                      "visibility": "after_published" if show_hidden else "hidden",
                      "output_format": "html",
                      "output": _question_html(question, question.cases)})
    if not report.questions:  # not even the tests could be read: say so in an entry of its own
        tests.append({"name": "Autograder", "score": 0, "max_score": 0, "visibility": "visible",
                      "output": report.error or ""})
    regular, _, extra = report.totals()
    results = {"score": 0 if report.error else regular + extra, "tests": tests,
               "stdout_visibility": "hidden"}
    general = report.messages + ([report.error] if report.error else [])
    if general:
        results["output"] = "\n".join(general)
    return results


def _question_html(question, cases):
    parts, pictures = [f"<h4>{html.escape(question.name)}</h4>"], 0
    for case in cases:
        mark = "✅" if case.passed else "❌"
        hidden = " <small>(hidden)</small>" if case.hidden else ""
        parts.append(f"<p><b>{mark} {html.escape(case.name)}</b>{hidden}</p>")
        if not case.passed or case.message != "passed":
            parts.append(html_message(case.message))
        if case.picture and not case.passed and pictures < MAX_PICTURES:
            parts.append(render_html(case.picture))
            pictures += 1
    return "".join(parts)
