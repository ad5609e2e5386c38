"""Answers as students really write them: chains, prose, Unicode, non-raw Python strings,
copies of rendered math, boxes.  Each row gives the verdict (correct or not) and, for a
rejection, a piece of the reading the feedback must show (None: no reading required).
No rejection may show the expected answer.
"""
import re
import time

import pytest

from grader.answers.compare import (Verdict, compare_bigo, compare_value, readable_bigo,
                            readable_value)
from grader.answers import values

T = "O(n b d^2)"
M_ALL = "O(nbd)"
M_SUM = "O(nbd + d^2)"
V, B = "compare_value", "compare_bigo"

CASES = [
    # chains: judged on the last member; a label in front is skipped
    (V, r"e^{\log 2} = 2", "2", True, None),
    (B, "O(nb d^2 + nbd) = O(nb d^2)", T, True, None),
    (V, r"\frac{\partial z}{\partial e} = \frac{1}{2}", "1/2", True, None),
    (V, "e = 1/2", "1/2", True, None),
    (V, r"z = \cosh(\log 2) = \frac{5}{4}", "5/4", True, None),
    (V, "1/2 = 0.5", "1/2", True, None),
    (V, r"\log 2 \approx 0.693", "log 2", True, None),
    (V, r"\frac{dz}{dx} = \frac{e^x - e^{-x}}{2} = \sinh x", "sinh(x)", True, None),
    (B, r"T_{\text{run}} = O(nbd^2)", T, True, None),
    (B, r"T_{\text{backward-for-}W_1} = O(n b d^2) = O(nbd \cdot d)", T, True, None),
    (V, "1/3 = 0.5", "1/4", False, "1/3 = 0.5"),
    (V, r"\frac{dz}{dx} = \sinh{x} = \cosh{x}", "sinh(x)", False, None),
    # The next three were rejected as inconsistent chains or as "f = O(g)".  A chain is now
    # judged by its last member; members in n, b, d are steps of the derivation, never held
    # against the answer (only closed members that provably differ are).
    (B, "O(nbd) = O(nbd^2)", T, True, None),
    (B, "O(n) = O(b)", M_ALL, False, "O(b)"),
    (B, "bd = O(bd)", M_ALL, False, "O(b·d)"),
    # prose around the answer
    (B, r"O(nb d^2) \text{Same since the weights are needed for every layer}", T, True, None),
    (B, r"O(n b d^{2}) \quad \text{(no graph is kept)}", T, True, None),
    (B, r"O(nbd) \quad (activations of every layer)", M_ALL, True, None),
    (B, "O(nbd^2) for all the layers together", T, True, None),
    (B, "Same as before: O(nbd^2)", T, True, None),
    (B, r"\text{Same as the forward pass: } O(nbd^2)", T, True, None),
    (V, r"\text{The answer is } \frac{1}{4}", "1/4", True, None),
    (V, "Answer: log 2", "log 2", True, None),
    (V, "log 2 (approximately 0.693)", "log 2", True, None),
    (V, "1/4 since dz/dd = e/2", "1/4", True, None),
    (B, r"O(nbd) \text{ same as the forward pass}", T, False, "O(n·b·d)"),
    (V, r"\frac{1}{2}.", "1/2", True, None),
    (V, "2.", "2", True, None),
    (B, "O(nbd^2).", T, True, None),
    # wrappers
    (V, r"\boxed{\frac14}", "1/4", True, None),
    (V, r"$$a = \boxed{\text{log 2}}$$", "log 2", True, None),
    (B, r"$$T_{\text{run}} = \boxed{O(nbd^2)}$$", T, True, None),
    (V, r"\(\frac{3}{4}\)", "3/4", True, None),
    (V, r"$\frac{3}{4}$", "3/4", True, None),
    (V, r"\[ -\frac{1}{4} \]", "-1/4", True, None),
    # Unicode copied from rendered math
    (B, "O(𝑛𝑏𝑑^2)", T, True, None),
    (B, "O(𝑛𝑏𝑑²)", T, True, None),
    (B, "𝐎(𝐧𝐛𝐝²)", T, True, None),
    (B, "O（nbd²）", T, True, None),
    (B, "O(d²+nbd)", M_SUM, True, None),
    (B, "O(n∙b∙d²)", T, True, None),
    (B, "O(n\u00a0b\u00a0d^2)", T, True, None),
    (B, "O(n\u200bb\u200dd\u2060^2)", T, True, None),
    (B, "\ufeffO(nbd)", M_ALL, True, None),
    (V, "1\u200b/\u200c4", "1/4", True, None),
    (V, "ln\u20612", "log 2", True, None),
    (V, "2⁻¹", "1/2", True, None),
    (V, "log₂ 4", "2", True, None),
    (V, "𝑒^{-\\log 2}", "1/2", True, None),
    (B, "O(nbd2)", T, False, "O(n·b·d·2)"),
    (B, "O(n b d ²)", T, True, None),
    # non-raw Python strings: "\f" "\t" "\b" "\r" "\a" became control characters
    (V, "\frac{1}{4}", "1/4", True, None),
    (V, "\tfrac{1}{4}", "1/4", True, None),
    (V, "\\left(\frac{1}{2}\right)", "1/2", True, None),
    (V, "\boxed{\frac{1}{4}}", "1/4", True, None),
    (V, "\text{log 2}", "log 2", True, None),
    (V, "\tanh(\\log 2)", "3/5", True, None),
    (V, "\\log 2 \approx 0.693", "log 2", True, None),
    (B, "O(n \times b)", "O(nb)", True, None),
    (B, "O(n \times b \times d^2)", T, True, None),
    (V, "1/4\n", "1/4", True, None),
    (V, "1\t/ 4", "1/4", True, None),
    (V, "\frac{1}{2", "1/2", False, "\\frac{1}{2"),
    # decimals, ellipses, TeX and calculator spellings
    (V, "0.693...", "log 2", True, None),
    (V, "0.693…", "log 2", True, None),
    (V, r"0.6931\ldots", "log 2", True, None),
    (V, "-0.693...", "-log 2", True, None),
    (V, "0.25...", "1/4", True, None),
    (V, "0.7...", "log 2", False, "0.7"),
    (V, r"1 \over 4", "1/4", True, None),
    (V, r"{1 \over 4}", "1/4", True, None),
    (V, r"\frac{1}{2} {1 \over 2}", "1/4", True, None),
    (V, r"{e^x - e^{-x} \over 2}", "sinh(x)", True, None),
    (V, "1÷4", "1/4", True, None),
    (V, r"1 \div 4", "1/4", True, None),
    (V, "Log 2", "log 2", True, None),
    (V, "LN 2", "log 2", True, None),
    (V, r"\Log 2", "log 2", True, None),
    (V, "Exp(-Log 2)", "1/2", True, None),
    (V, "SINH(x)", "sinh(x)", True, None),
    (V, r"\ln 2", "log 2", True, None),
    (V, r"\log_e 2", "log 2", True, None),
    (V, r"\log_{e}(2)", "log 2", True, None),
    (V, "log_e(2)", "log 2", True, None),
    # readings shown for wrong answers
    (V, "log 1/2", "-log 2", False, "log(1)/2"),
    (V, r"\frac{\log 1}{2}", "-log 2", False, "log(1)/2"),
    (V, "-log(1/2)", "-log 2", False, "-log(1/2)"),
    (V, "cosh x", "sinh(x)", False, "cosh(x)"),
    (V, "e^x/2 + e^{-x}/2", "sinh(x)", False, "e^x/2 + e^(-x)/2"),
    (B, "O(n^2 b d)", T, False, "O(n^2·b·d)"),
    (B, "O(n b)", M_ALL, False, "O(n·b)"),
    (B, "O(n log n)", M_ALL, False, "O(n·log(n))"),
    # unreadable answers: say what is unknown and what is allowed
    (B, "O(n_layers b d^2)", T, False, "n_layers"),
    (B, "O(n_{layers} b d^2)", T, False, "n_layers"),
    (B, "O(L n b d^2)", T, False, "'L'"),
    (V, "sinh(y)", "sinh(x)", False, "'y'"),
    (V, "x_1", "sinh(x)", False, "x_1"),
]


def _id(case):
    return f"{case[0]}:{case[1]!r}"[:60]


@pytest.mark.parametrize("function, answer, reference, correct, shows", CASES, ids=map(_id, CASES))
def test_reading(function, answer, reference, correct, shows):
    verdict = (compare_value if function == V else compare_bigo)(answer, reference)
    assert isinstance(verdict, Verdict)
    assert verdict.correct == correct, verdict
    if not correct:
        feedback = verdict.feedback
        if shows is not None:
            assert shows in feedback, feedback
        assert reference not in feedback
        assert re.sub(r"\s", "", reference) not in re.sub(r"\s", "", feedback)
        assert "Unbalanced" not in feedback or "{" in str(answer)


def test_misleading_messages_are_gone():
    feedback = compare_bigo("O(n_layers b d^2)", T).feedback
    assert "parenthes" not in feedback
    assert "Unknown symbol 'n_layers'" in feedback and "n, b and d" in feedback
    assert "n, b and d" in compare_bigo("O(L n b d^2)", T).feedback
    assert "x" in compare_value("sinh(y)", "sinh(x)").feedback


def test_chain_feedback():
    verdict = compare_value("1/3 = 0.5", "1/4")
    assert verdict.kind == "inconsistent" and "not all equal" in verdict.feedback
    # Judged by the last member now (see CASES): O(b) is too small, "bd" is a step.
    verdict = compare_bigo("O(n) = O(b)", M_ALL)
    assert verdict.kind == "too tight" and "O(b)" in verdict.feedback
    assert compare_bigo("bd = O(bd)", M_ALL).kind == "too tight"
    assert compare_bigo("O(1) = O(nbd)", M_ALL).kind == "inconsistent"    # O(1) is closed
    # The public check never says whether an answer is right, so not that a chain cannot be.
    assert readable_value("1/3 = 0.5").kind == "readable"
    assert readable_bigo("O(nbd^2 + nbd) = O(nbd^2)").kind == "readable"


def test_placeholders_still_unanswered():
    for answer in ("...", "…", "?", r"O(\text{TODO: fill me in})", r"\boxed{O(\text{TODO})}",
                   "$$ $$", r"\boxed{}", "O(...)", "a = ...", "T = ?", "a = ", r"\frac{dz}{dx} = \boxed{}"):
        assert compare_bigo(answer, M_ALL).kind == "unanswered", answer
        assert compare_value(answer, "1").kind == "unanswered", answer

# ------------------------------------------------- formulas at unknown points


def _agreeing_at_fixed_points():
    """sinh(x) plus a polynomial that vanishes at every fixed point."""
    roots = [p for p in values._FIXED_POINTS]
    factors = "".join(f"(x - ({p.p}/{p.q}))" for p in roots)
    return f"sinh(x) + {factors}"


def test_fixed_points_cannot_be_gamed():
    wrong = _agreeing_at_fixed_points()
    verdict = compare_value(wrong, "sinh(x)")
    assert verdict.kind == "different"
    for seed in range(20):
        assert compare_value(wrong, "sinh(x)", seed=seed).kind == "different"
    assert compare_value("sinh(x) + 10^{-6} x", "sinh(x)").kind == "different"


def test_points_are_deterministic_and_depend_on_the_inputs():
    assert values.points("a", "r") == values.points("a", "r")
    assert values.points("a", "r") != values.points("b", "r")
    assert values.points("a", "r", seed=1) != values.points("a", "r", seed=2)
    assert len(values.points("a", "r")) >= 12 + 7
    assert all(-3 <= p <= 3 for p in values.points("a", "r"))
    for answer in (r"\frac{e^x-e^{-x}}{2}", "cosh(x)", _agreeing_at_fixed_points()):
        first = compare_value(answer, "sinh(x)", seed=7)
        assert compare_value(answer, "sinh(x)", seed=7) == first
        assert compare_value(answer, "sinh(x)") == compare_value(answer, "sinh(x)")


def test_right_formulas_pass_at_every_seed():
    for seed in (None, 0, 1, "term-2024", 10 ** 30):
        for answer in (r"\frac{e^x-e^{-x}}{2}", r"\tanh(x)\cosh(x)", "(e^{2x}-1)/(2e^x)"):
            assert compare_value(answer, "sinh(x)", seed=seed).correct

# ------------------------------------------------------- bounded time


ADVERSARIAL = [
    "n" * 2_000, "n" * 100_000, "(" * 150 + "n" + ")" * 150, "(" * 1_000 + "n" + ")" * 1_000,
    "-" * 299 + "n", "n^" * 149 + "n", "2^" * 149 + "2", "e^{" * 60 + "x" + "}" * 60,
    "\\sinh(" * 40 + "x" + ")" * 40, "\\tanh(" * 40 + "x" + ")" * 40, "\\log(" * 40 + "x" + ")" * 40,
    "9" * 299, "0." + "9" * 297, "1e99999", "(10^{50})^{50}", "+".join(["n"] * 150),
    "*".join(["(n+b+d)"] * 40), "(n+b+d+1)^{50}", "(n^{1/2}+b^{1/3}+d^{1/5}+n^{1/7})^{9}",
    "(n+b)^{20}(b+d)^{20}", "+".join("n^{%d/3%d}d^{%d/4%d}" % (i, i % 10, 20 - i, (i * 3) % 10)
                                     for i in range(14)),
    " = ".join(["+".join("n^{%d/3%d}d^{%d/4%d}" % (i, i % 10, 20 - i, (i * 3) % 10)
                         for i in range(14))] * 4),
    " = ".join(["O((n+b+d)^{10})"] * 4), "=".join(["n"] * 1_000),
    "=".join(["\\sinh(\\sinh(\\sinh(\\sinh(\\sinh(0." + "3" * 250 + "x)))))"] * 4),
    "=".join(["\\sinh(\\cosh(\\sinh(\\cosh(\\tanh(\\log(\\exp(\\sinh(\\cosh(x^{0.1234567890123})))))))))"] * 4),
    "0.693147180559945309417232121458176568075500134360255254120680009493393621969694715605863326"
    "996418687542001481020570685733685520235758130557032670751635",
    "\\sqrt{" * 60 + "n" + "}" * 60, "\\frac{" * 60 + "1}{2}" + "}" * 59, "\\max(" * 30 + "n" + ",d)" * 30,
    "\\log^{50}" * 30 + "x", "\\sqrt[50]{" * 30 + "x" + "}" * 30, "e^{e^{e^{e^{e^{e^{e^{x}}}}}}}",
    "𝑛" * 2_000, "²" * 2_000, "n" + "²" * 299, "\u200b" * 2_000, "ﷺ" * 1_999, "n\u0302" * 500,
    "\x0c" * 2_000, "\x0crac" * 400, "\\boxed{" * 300, "\\boxed{" * 150 + "n" + "}" * 150, "$" * 2_000,
    "\\text{" * 300, "\\text{a}" * 200, "since " * 300, "." * 2_000, "1" + " " * 1_990 + "x",
    " ," * 1_000 + "x", "\\over " * 300, "1\\over 2\\over 3\\over 4" * 10, "{" * 1_000 + "}" * 1_000,
    "\\," * 1_000, ":" * 2_000, "\\:" * 1_000, "a:" * 1_000, "0.693..." * 250, "\\ldots" * 300,
    "?" * 2_000, "TODO" * 500, "x=" * 999, "\\frac{dz}{dx} = " * 100 + "x", "log " * 500 + "2",
    "\\text{" + "word " * 390 + "}", "O(" * 1_000, "_" * 2_000, "n_" * 1_000, "n_{" * 600,
    "\\left(" * 300, "(x+1)^{50}-(x-1)^{50}", "x^{50}e^{x^{50}}", "\\log_{1.0000001}(x)",
    "max(" * 30 + "n," * 100 + ")" * 30, 10 ** 800, 10 ** 6000, 1e308, -0.0, b"bytes", 3 + 4j,
]
CALLS = [
    lambda a: compare_value(a, "log 2"), lambda a: compare_value(a, "sinh(x)"),
    lambda a: compare_bigo(a, "O(n b d + n d^2)"), lambda a: compare_bigo(a, M_ALL),
    lambda a: readable_value(a, ("x",)), lambda a: readable_bigo(a),
]


def test_no_input_takes_a_second():
    """Limits by construction: the slowest check of every adversarial input is far below 1 s."""
    times = []
    for i, answer in enumerate(ADVERSARIAL):
        for call in CALLS:
            start = time.process_time()
            verdict = call(answer)
            times.append((time.process_time() - start, i))
            assert isinstance(verdict, Verdict) and verdict.feedback
    slowest = max(times)
    assert slowest[0] < 1.0, slowest


def test_ordinary_answers_are_fast():
    times = []
    for function, answer, reference, _, _ in CASES:
        start = time.process_time()
        (compare_value if function == V else compare_bigo)(answer, reference)
        times.append(time.process_time() - start)
    assert max(times) < 0.1
