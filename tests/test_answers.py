"""Tests of grader.answers: a table of (function, answer, reference, expected kind).

For readable_value the third column holds the allowed variables; for readable_bigo it is None.
benchmarks/answers_speed.py imports CASES from this file.
"""
import dataclasses
import os
import re
from pathlib import Path

import pytest

from grader.answers.compare import (DECIMAL_RTOL, Verdict, compare_bigo, compare_value, readable_bigo,
                            readable_value)

T_FWD = "O(n b d^2)"        # references of the big-O questions
M_ACT = "O(bd)"
M_ALL = "O(nbd)"
T_SUM = "O(nbd + nd^2)"
M_SUM = "O(nbd + d^2)"
INJECTION = "__import__('os').system('echo hi')"

BIGO = [
    # equivalent
    ("O(nbd^2)", T_FWD, "equivalent"),
    ("O(n b d^2)", T_FWD, "equivalent"),
    (r"$\mathcal{O}(n b d^2)$", T_FWD, "equivalent"),
    (r"$$\mathcal O(nbd^{2})$$", T_FWD, "equivalent"),
    (r"O(n \cdot b \cdot d^{2})", T_FWD, "equivalent"),
    (r"O(n \times b \times d^2)", T_FWD, "equivalent"),
    ("O(n*b*d**2)", T_FWD, "equivalent"),
    ("O(n·b·d²)", T_FWD, "equivalent"),
    ("O(n×b×d²)", T_FWD, "equivalent"),
    ("O(bd^2n)", T_FWD, "equivalent"),
    ("nbd^2", T_FWD, "equivalent"),
    (r"\Theta(nbd^2)", T_FWD, "equivalent"),
    ("Θ(nbd²)", T_FWD, "equivalent"),
    ("O(NBD^2)", T_FWD, "equivalent"),
    (r"O(\text{n}\,\text{b}\;\text{d}^2)", T_FWD, "equivalent"),
    (r"O\left(n b d^2\right)", T_FWD, "equivalent"),
    (r"\mathcal{O}\left(n\, b\, d^{2}\right)", T_FWD, "equivalent"),
    ("O(n b d^2 + n d^2)", T_FWD, "equivalent"),
    ("O(2 n b d^2)", T_FWD, "equivalent"),
    (r"O(\frac{1}{2} n b d^2)", T_FWD, "equivalent"),
    ("O(bd)", M_ACT, "equivalent"),
    ("O(d b)", M_ACT, "equivalent"),
    (r"\mathcal{O}(b \cdot d)", M_ACT, "equivalent"),
    ("O(bd + d)", M_ACT, "equivalent"),
    ("O(nbd)", M_ALL, "equivalent"),
    (r"O(n b d \log_2 8)", M_ALL, "equivalent"),
    ("O(nbd + nd^2)", T_SUM, "equivalent"),
    ("O(nd(b+d))", T_SUM, "equivalent"),
    ("O(n d (b + d))", T_SUM, "equivalent"),
    (r"O(nd \max(b, d))", T_SUM, "equivalent"),
    ("O(n d max(b,d))", T_SUM, "equivalent"),
    ("O(nd^2 + nbd + nd)", T_SUM, "equivalent"),
    ("O(d^2 + nbd)", M_SUM, "equivalent"),
    ("O(nbd + d^2)", M_SUM, "equivalent"),
    ("O(nbd+d^2+bd)", M_SUM, "equivalent"),
    ("O(n^2 + d^2 + nd)", "O(n^2 + d^2)", "equivalent"),
    ("O((n+d)^2)", "O(n^2 + d^2)", "equivalent"),
    (r"O(\sqrt{n^2 + d^2})", "O(n + d)", "equivalent"),
    ("O(√n)", "O(n^{1/2})", "equivalent"),
    (r"O(n \log n + n)", "O(n log n)", "equivalent"),
    (r"O(n\log(n^2))", "O(n log n)", "equivalent"),
    (r"O(\log(nd))", "O(log n + log d)", "equivalent"),
    ("O((n+d) log(n+d))", "O(n log n + n log d + d log n + d log d)", "equivalent"),
    (r"O(\log^2 n)", "O((log n)^2)", "equivalent"),
    ("O(n) + O(d^2)", "O(n + d^2)", "equivalent"),
    ("O(1)", "O(1)", "equivalent"),
    (1, "O(1)", "equivalent"),
    # too loose: the reference is O(answer) but not conversely
    ("O(nbd^2)", M_ALL, "too loose"),
    ("O(n b d^2)", M_ACT, "too loose"),
    ("O(n^2 b d^2)", T_FWD, "too loose"),
    ("O(n^3 + d^3 + n^2 d^2)", "O(n^3 + d^3)", "too loose"),
    (r"O(n \log n)", "O(n)", "too loose"),
    (r"O(\log n)", "O(1)", "too loose"),
    ("O(n b d^2)", T_SUM, "too loose"),
    ("O(nbd + nd^2)", M_ALL, "too loose"),
    ("O(nbd + d^2 n)", M_SUM, "too loose"),
    ("O(n(b+d)^2)", T_SUM, "too loose"),
    (r"O(nbd \log d)", M_ALL, "too loose"),
    # too tight: the answer is O(reference) but not conversely
    ("O(bd)", M_ALL, "too tight"),
    ("O(nbd)", T_FWD, "too tight"),
    ("O(n)", "O(n log n)", "too tight"),
    ("O(n^{1/2})", "O(n)", "too tight"),
    ("O(nbd)", T_SUM, "too tight"),
    ("O(d^2)", M_SUM, "too tight"),
    ("O(1)", M_ACT, "too tight"),
    ("O(n log n)", "O(n^2)", "too tight"),
    # incomparable
    ("O(nd^2)", M_ALL, "incomparable"),
    ("O(n^2)", M_ACT, "incomparable"),
    ("O(n^2 b)", T_SUM, "incomparable"),
    (r"O(n \log d)", "O(n + d)", "incomparable"),
    ("O(b d^2)", M_ALL, "incomparable"),
    ("O(nd log n)", "O(n^2 + d^2)", "incomparable"),
    # invalid
    (r"\Omega(nbd)", M_ALL, "invalid"),
    ("O(nbk)", M_ALL, "invalid"),
    ("O(n^2 - n)", "O(n^2)", "invalid"),
    (r"O(\foo n)", M_ALL, "invalid"),
    ("O(nbd", M_ALL, "invalid"),
    ("O(nbd))", M_ALL, "invalid"),
    ("O(min(b, d) n)", M_ALL, "invalid"),
    ("O(2^n)", M_ALL, "invalid"),
    ("O(e^n)", M_ALL, "invalid"),
    ("O(1/(n+d))", "O(1)", "invalid"),
    ("O(x)", M_ALL, "invalid"),
    ("O(n log log n)", M_ALL, "invalid"),
    ("o(n)", M_ALL, "invalid"),
    ("O(0)", M_ALL, "invalid"),
    ("O(n - n)", M_ALL, "invalid"),
    # Was "invalid" ("f = O(g)" is a statement about f).  A chain is now judged by its last
    # member, and "nbd" uses the exercise's names n, b, d: a step of the derivation.
    ("nbd = O(nbd)", M_ALL, "equivalent"),
    ("O(n, b)", M_ALL, "invalid"),
    ("O(n b d + )", M_ALL, "invalid"),
    ("O(sqrt(-n))", M_ALL, "invalid"),
    (3 + 4j, M_ALL, "invalid"),
    ([1], M_ALL, "invalid"),
    (True, M_ALL, "invalid"),
    # unanswered
    (..., M_ALL, "unanswered"),
    (None, M_ALL, "unanswered"),
    ("", M_ALL, "unanswered"),
    ("   ", M_ALL, "unanswered"),
    ("O(TODO: fill me in)", M_ALL, "unanswered"),
    ("?", M_ALL, "unanswered"),
    ("O(...)", M_ALL, "unanswered"),
    # security and size limits
    (INJECTION, M_ALL, "invalid"),
    ("n" * 10_000, M_ALL, "invalid"),
    ("n^(10^10)", M_ALL, "invalid"),
    ("(" * 100 + "n" + ")" * 100, M_ALL, "invalid"),
    ("(" * 5000 + "n" + ")" * 5000, M_ALL, "invalid"),
    ("-" * 200 + "n", M_ALL, "invalid"),
    ("n^n^n^n^n^n", M_ALL, "invalid"),
    ("O((n+b+d+1)^50)", M_ALL, "invalid"),
    ("(log n)^{50}", M_ALL, "too tight"),
    (r"\max(\log((\max(d,(\max(d,n))^{50})*((b)^{2})^{2})),\frac{\sinh(log n)}{nbd})", M_ALL, "invalid"),
    ("O((n+b+d)(n+b+d)(n+b+d)(n+b+d)(n+b+d)(n+b+d)(n+b+d)(n+b+d)(n+b+d)(n+b+d)(n+b+d)"
     "(n+b+d)(n+b+d)(n+b+d)(n+b+d)(n+b+d)(n+b+d))", M_ALL, "invalid"),
]

X = "sinh(x)"
VALUES = [
    # log 2 and its negative
    ("log 2", "log 2", "equal"),
    (r"\ln 2", "log 2", "equal"),
    ("ln(2)", "log 2", "equal"),
    ("log(2)", "log 2", "equal"),
    ("$\\log 2$", "log 2", "equal"),
    ("math.log(2)", "log 2", "equal"),
    ("np.log(2)", "log 2", "equal"),
    (r"\log 4 / 2", "log 2", "equal"),
    (r"\frac{1}{2}\log 4", "log 2", "equal"),
    ("0.5 log 4", "log 2", "equal"),
    ("0.693", "log 2", "close"),
    ("0.6931", "log 2", "close"),
    ("0.7", "log 2", "different"),
    ("0.68", "log 2", "different"),
    ("2", "log 2", "different"),
    (r"\log_2 2", "log 2", "different"),
    (r"-\log 2", "-log 2", "equal"),
    (r"\log\frac12", "-log 2", "equal"),
    (r"\log\left(\frac{1}{2}\right)", "-log 2", "equal"),
    ("log(1/2)", "-log 2", "equal"),
    ("−ln 2", "-log 2", "equal"),
    ("-0.693", "-log 2", "close"),
    ("log 2", "-log 2", "different"),
    ("2log2", "2 log 2", "equal"),
    (r"\log 4", "2 log 2", "equal"),
    ("1.386", "2 log 2", "close"),
    # rationals
    (r"e^{-\log 2}", "1/2", "equal"),
    (r"\exp(-\ln 2)", "1/2", "equal"),
    (r"\frac{1}{2}", "1/2", "equal"),
    (r"\dfrac12", "1/2", "equal"),
    ("1/2", "1/2", "equal"),
    ("0.5", "1/2", "equal"),
    (".5", "1/2", "equal"),
    (0.5, "1/2", "equal"),
    ("½", "1/2", "equal"),
    ("2^{-1}", "1/2", "equal"),
    ("0.55", "1/2", "different"),
    ("5/4", "5/4", "equal"),
    ("1.25", "5/4", "equal"),
    ("1 + 1/4", "5/4", "equal"),
    (r"\cosh(\log 2)", "5/4", "equal"),
    ("1.2", "5/4", "different"),
    ("2", "2", "equal"),
    ("2.0", "2", "equal"),
    (2, "2", "equal"),
    (r"e^{\log 2}", "2", "equal"),
    (r"\sqrt{4}", "2", "equal"),
    ("√4", "2", "equal"),
    ("1", "1", "equal"),
    ("e^0", "1", "equal"),
    ("log_2(2)", "1", "equal"),
    ("0", "1", "different"),
    ("1/4", "1/4", "equal"),
    ("0.25", "1/4", "equal"),
    (r"\tfrac{1}{4}", "1/4", "equal"),
    ("-1/4", "-1/4", "equal"),
    (r"-\frac14", "-1/4", "equal"),
    ("-0.25", "-1/4", "equal"),
    ("1/4", "-1/4", "different"),
    ("3/4", "3/4", "equal"),
    ("0.75", "3/4", "equal"),
    (0.75, "3/4", "equal"),
    (r"\sinh(\log 2)", "3/4", "equal"),
    ("1 - 1/4", "3/4", "equal"),
    ("0.7", "3/4", "different"),
    ("0.5 + (sinh(log 3)+sqrt 2)^20 - (4/3 + sqrt 2)^20", "1/2", "equal"),
    # the calculus answer, as functions of x
    ("sinh(x)", X, "equal"),
    (r"\sinh(x)", X, "equal"),
    (r"\sinh x", X, "equal"),
    (r"\sinh{x}", X, "equal"),
    ("sinh x", X, "equal"),
    ("(e^x - e^{-x})/2", X, "equal"),
    (r"\frac{e^{x}-e^{-x}}{2}", X, "equal"),
    (r"\frac12(e^x-e^{-x})", X, "equal"),
    ("1/2(e^x - e^{-x})", X, "equal"),
    ("-(e^{-x} - e^x)/2", X, "equal"),
    (r"\exp(x)/2 - \exp(-x)/2", X, "equal"),
    ("0.5e^x - 0.5e^{-x}", X, "equal"),
    ("(e^{2x}-1)/(2e^x)", X, "equal"),
    (r"\tanh(x)\cosh(x)", X, "equal"),
    (r"-\sinh(-x)", X, "equal"),
    ("(2.718^x - 2.718^{-x})/2", X, "close"),
    ("(2.7^x - 2.7^{-x})/2", X, "different"),
    ("cosh(x)", X, "different"),
    (r"\cosh x", X, "different"),
    ("(e^x + e^{-x})/2", X, "different"),
    ("sinh(-x)", X, "different"),
    ("e^x", X, "different"),
    ("x", X, "different"),
    ("e^{e^{e^{e^x}}}", X, "different"),
    ("x^{50}e^{x^{50}}", X, "different"),
    # invalid and unanswered values
    ("sinh(y)", X, "invalid"),
    (r"\sinh", X, "invalid"),
    ("O(x)", X, "invalid"),
    ("x", "log 2", "invalid"),
    (r"\log_2 x", "log 2", "invalid"),
    ("1,5", "5/4", "invalid"),
    ("log(0)", "1", "invalid"),
    ("1/0", "1", "invalid"),
    (r"\frac{1}{2", "1/2", "invalid"),
    (float("nan"), "1", "invalid"),
    ("((10^49)^50)^50", "1", "different"),
    ("1/(1-1)", "1", "different"),
    ("log(2(10^40+7)) - log(10^40+7)", "log 2", "equal"),
    ("1e400", "1", "invalid"),
    (INJECTION, "log 2", "invalid"),
    ("x" * 10_000, "1", "invalid"),
    ("2^2^2^2^2^2", "1", "invalid"),
    ("(" * 100 + "1" + ")" * 100, "1", "invalid"),
    # sympy's automatic evaluation would turn these into huge exact powers or slow comparisons
    (r"e^{\frac{\max(\max(log 2*(1/3)^{-50},\sinh(x)),\sqrt{\log(\max(1/3,e))})}"
     r"{\sqrt{2}*(e^{e^{2}}+e^{2*e})}}", X, "different"),
    (r"\sinh(\sinh(((\sinh(e)+\sqrt{(log 2-x)}))^{50}))", X, "different"),
    (r"\log(\sinh(\max((\sinh(1/3))^{-50},\sinh((e)^{49/3})))*\log(e^{\frac{x}{x}*e*e}))", X, "different"),
    ("e^{3^{50} log 2 - 3^{50} log 2}", "1", "equal"),
    ("e^{3^{50} log 2}", "1", "invalid"),
    (..., "log 2", "unanswered"),
    ("TODO", "log 2", "unanswered"),
    ("  ", X, "unanswered"),
]

READABLE = [
    ("readable_bigo", "O(nbd)", None, "readable"),
    ("readable_bigo", r"$\mathcal{O}(nd(b+d))$", None, "readable"),
    ("readable_bigo", "O(n log n)", None, "readable"),
    ("readable_bigo", ..., None, "unanswered"),
    ("readable_bigo", "O(TODO)", None, "unanswered"),
    ("readable_bigo", "O(nbk)", None, "invalid"),
    ("readable_bigo", "O(n^2 - n)", None, "invalid"),
    ("readable_bigo", r"\Omega(n)", None, "invalid"),
    ("readable_value", "log 2", (), "readable"),
    ("readable_value", 0.5, (), "readable"),
    ("readable_value", r"\frac{e^x-e^{-x}}{2}", ("x",), "readable"),
    ("readable_value", "sinh x", (), "invalid"),
    ("readable_value", r"\frac{1}{2", (), "invalid"),
    ("readable_value", None, (), "unanswered"),
    ("readable_value", "?", ("x",), "unanswered"),
]

CASES = ([("compare_bigo", *case) for case in BIGO] + [("compare_value", *case) for case in VALUES]
         + READABLE)
CORRECT_KINDS = {"equivalent", "equal", "close", "readable"}
FUNCTIONS = {"compare_bigo": compare_bigo, "compare_value": compare_value,
             "readable_bigo": readable_bigo, "readable_value": readable_value}


def run(function, answer, reference):
    """Call one grading function the way a CASES row describes."""
    if function == "readable_bigo":
        return FUNCTIONS[function](answer)
    return FUNCTIONS[function](answer, reference)


def _id(case):
    function, answer, reference, kind = case
    return f"{function}:{str(answer)[:40]!s}:{reference}:{kind}"


@pytest.mark.parametrize("function, answer, reference, kind", CASES, ids=[_id(c) for c in CASES])
def test_case(function, answer, reference, kind):
    verdict = run(function, answer, reference)
    assert isinstance(verdict, Verdict)
    assert verdict.kind == kind, verdict.feedback
    assert verdict.correct == (kind in CORRECT_KINDS)
    assert verdict.feedback
    if function.startswith("compare") and not verdict.correct:
        assert reference not in verdict.feedback
        assert reference.replace(" ", "") not in verdict.feedback.replace(" ", "")


def test_table_size():
    assert len(BIGO) >= 60 and len(VALUES) >= 50 and len(CASES) >= 120


def test_injection_is_not_executed(capfd, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *args: calls.append(args))
    assert compare_bigo(INJECTION, M_ALL).kind == "invalid"
    assert compare_value(INJECTION, "log 2").kind == "invalid"
    assert readable_value(INJECTION).kind == "invalid"
    assert not calls
    assert "hi" not in capfd.readouterr().out


def test_no_evaluating_parsers_in_source():
    package = Path(__file__).parents[1] / "grader" / "answers"
    sources = sorted(package.glob("*.py"))
    assert {p.name for p in sources} >= {"__init__.py", "parse.py", "evaluate.py", "bigo.py",
                                         "values.py", "boxes.py"}
    for path in sources:
        assert not re.search(r"\b(eval|exec|sympify|parse_expr|parse_latex)\s*\(", path.read_text()), path


def test_feedback_messages():
    assert "'k'" in compare_bigo("O(nbk)", M_ALL).feedback
    assert "n, b and d" in compare_bigo("O(nbk)", M_ALL).feedback
    assert "'\\foo'" in compare_bigo(r"O(\foo n)", M_ALL).feedback
    assert "parentheses" in compare_bigo("O(nbd", M_ALL).feedback
    assert "O(" in compare_bigo(r"\Omega(nbd)", M_ALL).feedback
    assert "positive terms" in compare_bigo("O(n^2 - n)", "O(n^2)").feedback
    assert "min" in compare_bigo("O(min(b, d) n)", M_ALL).feedback
    assert "too long" in compare_bigo("n" * 10_000, M_ALL).feedback
    assert "'y'" in compare_value("sinh(y)", X).feedback
    assert f"{DECIMAL_RTOL:.1%}" in compare_value("0.7", "log 2").feedback
    assert "list" in compare_value([1], "1").feedback


def test_bad_reference_raises():
    with pytest.raises(ValueError):
        compare_bigo("O(n)", "O(n^2 - n)")
    with pytest.raises(ValueError):
        compare_value("1", "log(")


def test_verdict_is_frozen():
    verdict = compare_bigo("O(nbd)", M_ALL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.correct = False
