"""Big-O answers: a bound is read as a set of terms and compared exactly.

A term c n^a b^β d^γ (log n)^p (log b)^q (log d)^r is kept as its exponent vector;
one bound is O(another) iff each of its terms lies in the convex hull of the other's
terms minus the positive orthant, decided by an exact rational LP (phase one of the
simplex method with Bland's rule).  Logarithms are infinitesimal exponents.
"""
from __future__ import annotations

from fractions import Fraction
from math import lcm

import mpmath
import sympy

from .evaluate import DIGITS, MAX_BITS, NotFinite, evaluate, rational
from .parse import Context, Unreadable, parse

MAX_WORK = 2_000      # term products allowed while expanding a bound
MAX_TERMS = 40        # terms of a bound once dominated terms are dropped
_MAX_RAW_TERMS = 400  # terms before that

VARIABLES = {v: sympy.Symbol(v, positive=True) for v in ("n", "b", "d")}
_INDEX = {symbol: i for i, symbol in enumerate(VARIABLES.values())}
# A term c n^a b^β d^γ (log n)^p (log b)^q (log d)^r is stored as {(a, β, γ, p, q, r): c}.
# Exponents are ints or Fractions (ints hash much faster); coefficients are Fractions
# when exact, else mpmath numbers: only their signs matter.
_ONE = (0,) * 6


def _unit(i):
    return tuple(int(i == k) for k in range(6))


def _key(exponents):
    return tuple(v.numerator if v.denominator == 1 else v for v in exponents)


def _mp(c):
    return mpmath.mpf(c.numerator) / c.denominator if isinstance(c, Fraction) else c


def _plus(a, b):
    return a + b if isinstance(a, Fraction) and isinstance(b, Fraction) else _mp(a) + _mp(b)


def _times(a, b):
    return a * b if isinstance(a, Fraction) and isinstance(b, Fraction) else _mp(a) * _mp(b)


def _raise(c, k):
    if isinstance(c, Fraction) and k.denominator == 1 and \
            max(abs(c.numerator), c.denominator).bit_length() * abs(k) <= MAX_BITS:
        return c ** int(k)
    return _mp(c) ** _mp(k)


def _sign(c):
    """Sign of a coefficient (0 if an inexact one vanishes to working precision)."""
    if isinstance(c, Fraction):
        return (c > 0) - (c < 0)
    if abs(mpmath.im(c)) > 1e-40:
        raise Unreadable("The bound contains a number that is not real.")
    c = mpmath.re(c)
    return 0 if abs(c) < 1e-40 else (1 if c > 0 else -1)


def _constant(e):
    value = rational(e)
    if value is None:
        try:
            value = evaluate(e)
        except NotFinite:
            raise Unreadable("A constant in the bound is too large or undefined.") from None
        _sign(value)        # checks that it is real
    return value


def _sum_terms(parts):
    total = {}
    for terms in parts:
        for key, c in terms.items():
            total[key] = _plus(total[key], c) if key in total else c
    return {key: c for key, c in total.items() if c != 0}


class _Expander:
    """Rewrites a parsed bound as a dict of terms (see _ONE).

    expand() returns (terms, approx); approx marks steps that are only exact up to
    constant factors (max -> sum, root or log of a sum), which must not meet subtraction.
    """

    def __init__(self):
        self.work = 0

    def multiply(self, f, g):
        self.work += len(f) * len(g)
        if self.work > MAX_WORK:
            raise Unreadable("The bound is too large to expand; simplify it first.")
        return _sum_terms({_key(a + b for a, b in zip(k1, k2)): _times(c1, c2)}
                          for k1, c1 in f.items() for k2, c2 in g.items())

    def expand(self, e):
        if not e.free_symbols:
            return {_ONE: _constant(e)}, False
        if e.is_Symbol:
            return {_unit(_INDEX[e]): Fraction(1)}, False
        if isinstance(e, (sympy.Add, sympy.Mul, sympy.Max)):
            parts = [self.expand(a) for a in e.args]
            approx = any(a for _, a in parts)
            lowest = min((_sign(c) for terms, _ in parts for c in terms.values()), default=0)
            if isinstance(e, sympy.Max):
                if lowest <= 0:
                    raise Unreadable("max(...) must be taken of positive terms.")
                return _sum_terms(terms for terms, _ in parts), True     # max(f, g) is Theta(f + g)
            if isinstance(e, sympy.Add):
                if approx and lowest < 0:
                    raise Unreadable("Write the bound as a sum of positive terms (no subtraction).")
                return _sum_terms(terms for terms, _ in parts), approx
            product = parts[0][0]
            for terms, _ in parts[1:]:
                product = self.multiply(product, terms)
            return product, approx
        if isinstance(e, sympy.Pow):
            return self.power(e)
        if isinstance(e, sympy.log):
            return self.log(e.args[0])
        raise Unreadable("Use only sums and products of powers of n, b, d and their logarithms.")

    def power(self, e):
        k = None if e.exp.free_symbols else rational(e.exp)
        if k is None:
            raise Unreadable("Exponents must be numbers such as 2 or 1/2.")
        terms, approx = self.expand(e.base)
        if len(terms) == 1:
            (key, c), = terms.items()
            return {_key(v * k for v in key): _raise(c, k)}, approx
        if k.denominator == 1 and k > 0:
            result = terms
            for _ in range(int(k) - 1):
                result = self.multiply(result, terms)
            return result, approx
        if k < 0:
            raise Unreadable("Dividing by a sum such as (n + d) is not allowed in a bound.")
        if min((_sign(c) for c in terms.values()), default=0) <= 0:
            raise Unreadable("Roots must be taken of positive terms.")
        # (f + g)^k is Theta(f^k + g^k) for positive f, g and k > 0.
        return {_key(v * k for v in key): _raise(c, k) for key, c in terms.items()}, True

    def log(self, arg):
        terms, approx = self.expand(arg)
        if any(any(key[3:]) for key in terms):
            raise Unreadable("Logarithms of logarithms are not supported.")
        if min((_sign(c) for c in terms.values()), default=0) <= 0:
            raise Unreadable("Take logarithms of positive terms only.")
        if len(terms) == 1:     # log(c n^a b^β d^γ) = log c + a log n + β log b + γ log d
            (key, c), = terms.items()
            result = {_unit(3 + i): v for i, v in enumerate(key[:3]) if v}
            if c != 1:
                result[_ONE] = mpmath.log(_mp(c))
            return result, approx
        if any(v < 0 for key in terms for v in key[:3]):
            raise Unreadable("Take logarithms of quantities that grow, such as n or n + d.")
        # log(f + g) is Theta(sum of log v over the variables v that occur).
        used = sorted({i for key in terms for i in range(3) if key[i]})
        return {_unit(3 + i): Fraction(1) for i in used}, True


def _feasible(rows, rhs):
    """Is there x >= 0 with rows · x = rhs?  Phase one of the simplex method in exact
    arithmetic, with Bland's rule so that it cannot cycle."""
    m, n = len(rows), len(rows[0])
    table = []
    for i, (row, r) in enumerate(zip(rows, rhs)):
        s = -1 if r < 0 else 1
        table.append([s * Fraction(v) for v in row] + [Fraction(int(i == k)) for k in range(m)] + [s * r])
    basis = list(range(n, n + m))
    # Reduced costs of "minimise the sum of the artificial variables"; cost[-1] is minus its value.
    cost = [-sum(row[j] for row in table) for j in range(n)] + [Fraction(0)] * m
    cost.append(-sum(row[-1] for row in table))
    while True:
        col = next((j for j in range(n + m) if cost[j] < 0), None)
        if col is None:
            return cost[-1] == 0
        _, _, r = min((row[-1] / row[col], basis[i], i) for i, row in enumerate(table) if row[col] > 0)
        pivot = table[r] = [v / table[r][col] for v in table[r]]
        for i, row in enumerate(table):
            if i != r and row[col]:
                table[i] = [v - row[col] * w for v, w in zip(row, pivot)]
        cost = [v - cost[col] * w for v, w in zip(cost, pivot)]
        basis[r] = col


def _covers(p, t):
    """Is the term t at most a constant times the single term p?"""
    return all((p[i], p[i + 3]) >= (t[i], t[i + 3]) for i in range(3))


def _dominated(term, points):
    """Is the term O(sum of the terms `points`) for all n, b, d >= 2?

    A log factor (log n)^p is treated as n^(p ε) for an infinitesimal ε > 0: the
    term is dominated iff its exponent vector lies in conv(points) minus the positive
    orthant for all small ε, i.e. some λ >= 0 with Σλ = 1 has Σ λ_j (e_j + ε l_j) >=
    e_t + ε l_t componentwise.  Feasibility of this LP changes only at roots of its
    minors (degree <= 4 in ε).  With all entries scaled to integers of size <= M,
    Cauchy's bound puts every positive root above 1/(1 + 144 M^4), so one exact LP at
    ε = 1/(200 M^4) decides the question for all small ε.
    """
    if any(_covers(p, term) for p in points):
        return True
    entries = [v for p in (term, *points) for v in p]
    scale = lcm(*(v.denominator for v in entries))
    size = max(1, *(abs(int(v * scale)) for v in entries))
    eps = Fraction(1, 200 * size ** 4)
    rows = [[scale * (p[i] + eps * p[i + 3]) for p in points] + [-int(i == k) for k in range(3)]
            for i in range(3)]
    rows.append([1] * len(points) + [0, 0, 0])
    rhs = [scale * (term[i] + eps * term[i + 3]) for i in range(3)] + [Fraction(1)]
    return _feasible(rows, rhs)


CONTEXT = Context(VARIABLES, big_o=True)


def read(text):
    """(terms, tree, closed) for one member's text; closed says that it is a constant
    written without the letter e standing alone."""
    expr, parser = parse(text, CONTEXT)
    with mpmath.workdps(DIGITS):
        terms, _ = _Expander().expand(expr)
        signs = {key: _sign(c) for key, c in terms.items()}
    if min(signs.values(), default=0) < 0:
        raise Unreadable("Write the bound as a sum of positive terms (no subtraction).")
    kept = [key for key, sign in signs.items() if sign > 0]
    if not kept:
        raise Unreadable("This bound is zero.")
    if len(kept) > _MAX_RAW_TERMS:
        raise Unreadable("The bound has too many terms; simplify it first.")
    # Terms at most a constant times another term change nothing: drop them.
    kept = [t for t in kept if not any(p != t and _covers(p, t) for p in kept)]
    if len(kept) > MAX_TERMS:
        raise Unreadable("The bound has too many terms; simplify it first.")
    return kept, expr, not expr.free_symbols and not parser.bare_e


def judge(given, expected) -> str:
    """'equivalent', 'too loose', 'too tight' or 'incomparable' for two term lists."""
    upper = all(_dominated(t, expected) for t in given)     # given = O(expected)
    lower = all(_dominated(t, given) for t in expected)     # expected = O(given)
    if upper and lower:
        return "equivalent"
    return "too loose" if lower else "too tight" if upper else "incomparable"
