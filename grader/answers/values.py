"""Value answers: numbers, or formulas in x, compared at points.

Formulas in x are compared at fixed points in [-3, 3] and at RANDOM_POINTS more drawn
from a seed (by default a hash of the answer and the reference), so that no formula
tuned to agree with the reference at known points passes.  At every point equality is
exact (evaluate.equal: interval arithmetic at a precision set by the magnitudes in the
answer), so an exact answer off by 10^-40 is not equal.  Only an answer written with
decimals (a decimal point) may instead be "close": within DECIMAL_RTOL at every point.
"""
from __future__ import annotations

import hashlib
import random

import mpmath
import sympy

from .evaluate import NotFinite, equal, evaluate
from .parse import Context, parse

DECIMAL_RTOL = 5e-3
RANDOM_POINTS = 12
_FIXED_POINTS = tuple(sympy.Rational(v, 10) for v in (-27, -19, -11, -3, 6, 14, 23))
_SYMBOLS = {"x": sympy.Symbol("x", real=True)}


def context(variables) -> Context:
    return Context({v: _SYMBOLS.get(v) or sympy.Symbol(v, real=True) for v in variables}, big_o=False)


def read(text, variables):
    """(tree, decimals, closed) for one member's text: decimals counts the digits of its
    decimals; closed says that it is a number written without the letter e standing alone
    (which may be the exercise's node e)."""
    expr, parser = parse(text, context(variables))
    return expr, parser.decimals, not expr.free_symbols and not parser.bare_e


def points(answer_key: str, reference: str, seed=None):
    """Where formulas in x are compared: fixed points, and random ones in [-3, 3] drawn
    from `seed` together with the answer and the reference (deterministic for the same inputs)."""
    digest = hashlib.sha256(repr((seed, answer_key, reference)).encode()).digest()
    rng = random.Random(digest)
    return _FIXED_POINTS + tuple(sympy.Rational(rng.randint(-3000, 3000), 1000)
                                 for _ in range(RANDOM_POINTS))


def _error(given, expected, where):
    """Largest relative difference over the points (absolute where the expected value is 0)."""
    error = mpmath.mpf(0)
    for p in where:
        a, b = evaluate(given, p), evaluate(expected, p)
        error = max(error, abs(a - b) / abs(b) if b != 0 else abs(a))
    return error


def judge(given, expected, where, decimals, work=None) -> str:
    """'equal', 'close' or 'different'; `where` is (None,) for numbers, else points().

    `work` ([0]) is shared by the judgements of one answer; evaluate.TooCostly is raised
    when their exact checks would take too long.
    """
    work = [0] if work is None else work
    try:
        if all(equal(given, expected, p, work) for p in where):
            return "equal"
    except (NotFinite, ArithmeticError, ValueError):
        pass
    if not decimals:
        return "different"
    try:
        return "close" if _error(given, expected, where) <= DECIMAL_RTOL else "different"
    except (NotFinite, ArithmeticError):
        return "different"
