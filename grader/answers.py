"""Grading of written answers: big-O bounds and exact values.

Student text is never evaluated.  A normaliser maps LaTeX, Unicode and Python
spellings to one plain syntax; a tokenizer and a small recursive-descent parser
then build unevaluated sympy trees through constructors only.  Big-O answers are
compared exactly through their exponent vectors (a small rational linear program);
values by high-precision numerical evaluation.
"""
from __future__ import annotations

import re
from collections import namedtuple
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import isfinite, lcm, prod

import mpmath
import sympy

DECIMAL_RTOL = 5e-3
MAX_LENGTH = 300      # characters in an answer
MAX_DEPTH = 40        # nesting of parentheses, signs and exponents
MAX_EXPONENT = 50     # largest |exponent| of a power
MAX_BITS = 10_000     # largest exact rational computed from a big-O answer
MAX_WORK = 2_000      # term products allowed while expanding a big-O answer
_DIGITS = 60          # working precision of numerical evaluation
_HUGE = mpmath.mpf(10) ** 300


@dataclass(frozen=True)
class Verdict:
    correct: bool
    kind: str
    feedback: str


class _Unreadable(Exception):
    """The answer cannot be read; the message is shown to the student."""


class _NotFinite(Exception):
    """Numerical evaluation overflowed or hit a singularity."""


_CORRECT = "Correct."
_UNANSWERED = Verdict(False, "unanswered", "No answer yet: replace the placeholder with your answer.")
_READABLE = Verdict(True, "readable", "Your answer is filled in and can be read; it is graded later.")
_BIGO_FEEDBACK = {
    "too loose": "Your bound is larger than necessary: in some regime of n, b and d (when one of "
                 "them is much larger than the others) it overestimates the true cost.",
    "too tight": "Your bound is too small: some regime of n, b, d makes the true cost grow faster.",
    "incomparable": "Your bound is neither an upper nor a lower bound in every regime: "
                    "it over-counts some terms and misses others.",
}
_DIFFERENT = "Not equal to the expected value."
_CLOSE = (f"Accepted: your decimal is within {DECIMAL_RTOL:.1%} of the exact value "
          "(an exact expression is preferred).")
_DECIMAL_OFF = (f"Your decimal is not within {DECIMAL_RTOL:.1%} of the exact value; give an exact "
                "expression (fractions, log, exp, ...) or a closer decimal.")

# ---------------------------------------------------------------- normaliser

_UNICODE = {"·": "*", "⋅": "*", "×": "*", "∗": "*", "−": "-", "–": "-", "—": "-",
            "√": " sqrt ", "π": " pi ", "Θ": r"\Theta ", "Ω": r"\Omega ", "𝒪": "O",
            "½": "(1/2)", "¼": "(1/4)", "¾": "(3/4)", "\u00a0": " "}
_SUPERSCRIPT_RUN = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_REWRITES = [
    (re.compile(r"\b(?:math|numpy|np)\.log2\s*\("), "log_2("),
    (re.compile(r"\b(?:math|numpy|np)\.log10\s*\("), "log_{10}("),
    (re.compile(r"\b(?:math|numpy|np|sympy|sp|torch)\."), ""),
    # \text{..}, \mathrm{..}, \mathcal{O}, ...: keep the content.
    (re.compile(r"\\(?:text|textrm|textit|mathrm|mathit|mathbf|mathcal|operatorname|rm)"
                r"\s*\{([^{}]*)\}"), r" \1 "),
    (re.compile(r"\\mathcal\s*O"), "O"),
]


def _normalise(text: str) -> str:
    s = text.strip()
    for opening, closing in (("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(opening) and s.endswith(closing):
            s = s[2:-2]
    s = s.replace("$", " ")
    s = _SUPERSCRIPT_RUN.sub(lambda m: "^{" + m.group().translate(_SUPERSCRIPTS) + "}", s)
    s = "".join(_UNICODE.get(c, c) for c in s)
    for pattern, replacement in _REWRITES:
        s = pattern.sub(replacement, s)
    return s

# ----------------------------------------------------------------- tokenizer

_Token = namedtuple("_Token", "kind value text")   # kind: "num", "name" or "op"

_TOKEN = re.compile(r"""
    (?P<space>\s+|\\[,;:!\ ]|~)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<cmd>\\[A-Za-z]+|\\[{}])
  | (?P<word>[A-Za-z]+)
  | (?P<op>\*\*|[-+*/^_(){}\[\],])
""", re.VERBOSE)
_FUNCTIONS = ("log", "lg", "exp", "sinh", "cosh", "tanh", "sqrt", "max", "min")
# Words a run of letters is split into (longest first); every other letter stands alone.
_WORDS = sorted(_FUNCTIONS + ("ln", "Theta", "Omega", "pi"), key=len, reverse=True)
_COMMANDS = {"log": "log", "ln": "log", "lg": "lg", "exp": "exp", "sinh": "sinh", "cosh": "cosh",
             "tanh": "tanh", "max": "max", "min": "min", "Theta": "Theta", "Omega": "Omega",
             "pi": "pi", "sqrt": r"\sqrt", "frac": r"\frac", "tfrac": r"\frac",
             "dfrac": r"\frac", "cfrac": r"\frac"}
_COMMAND_OPS = {"cdot": "*", "times": "*", "ast": "*", "div": "/", "{": "(", "}": ")"}
_IGNORED = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
            "displaystyle", "quad", "qquad"}
_CLOSING = {"(": ")", "[": "]", "{": "}"}


def _split_word(word: str) -> list[str]:
    """'nlogn' -> n, log, n: known function names stay whole, other letters are single symbols."""
    parts, i = [], 0
    while i < len(word):
        part = next((w for w in _WORDS if word.startswith(w, i)), word[i])
        parts.append("log" if part == "ln" else part)
        i += len(part)
    return parts


def _quote(text):
    return f'"{text}"' if "'" in text else f"'{text}'"


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            bad = text[pos:pos + 2] if text[pos] == "\\" else text[pos]
            raise _Unreadable(f"Could not read {_quote(bad)}.")
        pos, kind, s = match.end(), match.lastgroup, match.group()
        if kind == "cmd":
            name = s[1:]
            if name in _COMMAND_OPS:
                tokens.append(_Token("op", _COMMAND_OPS[name], s))
            elif name in _COMMANDS:
                tokens.append(_Token("name", _COMMANDS[name], s))
            elif name not in _IGNORED:
                raise _Unreadable(f"Could not read {_quote(s)}.")
        elif kind == "word":
            tokens.extend(_Token("name", part, s) for part in _split_word(s))
        elif kind == "op":
            tokens.append(_Token("op", "^" if s == "**" else s, s))
        elif kind == "num":
            tokens.append(_Token("num", s, s))
    return tokens

# -------------------------------------------------------------------- parser

# Trees are built unevaluated: sympy's automatic simplification can be led into
# unbounded work (exp(c log k) becomes k^c computed exactly, Max compares its
# arguments numerically, ...).  Everything downstream reads the raw tree.
_MINUS_ONE = sympy.Integer(-1)


def _add(a, b):
    return sympy.Add(a, b, evaluate=False)


def _mul(a, b):
    return sympy.Mul(a, b, evaluate=False)


def _pow(a, b):
    return sympy.Pow(a, b, evaluate=False)


class _Parser:
    """Recursive descent over the tokens; builds sympy objects by their constructors.

    Grammar:  expression = term {("+" | "-") term}
              term       = unary {("*" | "/") unary | power}     (juxtaposition multiplies)
              unary      = ("-" | "+") unary | power
              power      = primary ["^" exponent]
    A function without parentheses takes the following product of numbers and
    variables as its argument: "log 2", "sinh x", "log n^2", "n log n".
    """

    def __init__(self, text: str, variables: dict, big_o: bool):
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0
        self.variables = variables
        self.big_o = big_o
        self.decimals = 0           # digits written in decimal numbers ("0.25" has 3)

    def parse(self):
        if not self.tokens:
            raise _Unreadable("Empty answer.")
        value = self.expression()
        if self.pos < len(self.tokens):
            raise self.unexpected(self.tokens[self.pos])
        return value

    # -- token helpers
    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self):
        token = self.peek()
        if token is None:
            raise _Unreadable("The answer ends too early: something is missing.")
        self.pos += 1
        return token

    def accept(self, *ops):
        token = self.peek()
        if token and token.kind == "op" and token.value in ops:
            self.pos += 1
            return token
        return None

    def unexpected(self, token):
        if token.value in (")", "]", "}") and token.kind == "op":
            return _Unreadable("Unbalanced parentheses.")
        return _Unreadable(f"Could not read {_quote(token.text)} here.")

    def descend(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Unreadable("The answer is too deeply nested.")

    def is_atom(self, token):
        """Does the token start a number or a variable (a factor of an implicit product)?"""
        if token is None:
            return False
        if token.kind == "num":
            if self.tokens[self.pos - 1].kind == "num":
                raise _Unreadable(f"Two numbers in a row: '{self.tokens[self.pos - 1].text} {token.text}'.")
            return True
        return token.kind == "name" and (token.value in ("e", "pi") or self.variable(token.value) is not None)

    def starts_primary(self, token):
        """Does the token start a factor of an implicit product ("2n", "n(b + d)", "n log n")?"""
        if token is None or token.kind == "num":
            return self.is_atom(token)
        return token.kind == "name" or token.value in _CLOSING

    def variable(self, name):
        if self.big_o and name in ("N", "B", "D"):
            name = name.lower()
        return self.variables.get(name)

    # -- grammar
    def expression(self):
        self.descend()
        value = self.term()
        while token := self.accept("+", "-"):
            rhs = self.term()
            value = _add(value, rhs if token.value == "+" else _mul(_MINUS_ONE, rhs))
        self.depth -= 1
        return value

    def term(self):
        value = self.unary()
        while True:
            if token := self.accept("*", "/"):
                rhs = self.unary()
                value = _mul(value, rhs) if token.value == "*" else self.divide(value, rhs)
            elif self.starts_primary(self.peek()):
                value = _mul(value, self.power())
            else:
                return value

    def unary(self):
        self.descend()
        if self.accept("-"):
            value = _mul(_MINUS_ONE, self.unary())
        elif self.accept("+"):
            value = self.unary()
        else:
            value = self.power()
        self.depth -= 1
        return value

    def power(self):
        base = self.primary()
        return self.raise_to(base, self.unary()) if self.accept("^") else base

    def primary(self):
        token = self.next()
        if token.kind == "num":
            return self.number(token.value)
        if token.kind == "op":
            if token.value not in _CLOSING:
                raise self.unexpected(token)
            value = self.expression()
            self.close(token.value)
            return value
        return self.name(token)

    def close(self, opening):
        if not self.accept(_CLOSING[opening]):
            token = self.peek()
            if token and token.value == ",":
                raise self.unexpected(token)
            raise _Unreadable("Unbalanced parentheses.")

    def number(self, text):
        mantissa, _, power = text.lower().partition("e")
        whole, _, fraction = mantissa.partition(".")
        if "." in text or power:
            self.decimals += sum(c.isdigit() for c in text)
        value = sympy.Rational(int(whole + fraction or "0"), 10 ** len(fraction))
        if power:
            value = _mul(value, self.raise_to(sympy.Integer(10), sympy.Integer(int(power))))
        return value

    def name(self, token):
        name = token.value
        symbol = self.variable(name)
        if symbol is not None:
            return symbol
        if name == "e":
            return sympy.E
        if name == "pi":
            return sympy.pi
        if name in ("O", "Theta"):
            return self.bound()
        if name == "Omega":
            raise _Unreadable("Give a big-O (upper) bound written as O(...), not Omega(...).")
        if name == r"\frac":
            return self.divide(self.latex_argument(), self.latex_argument())
        if name == r"\sqrt":
            index = sympy.Integer(2)
            if self.accept("["):
                index = self.expression()
                self.close("[")
            return self.raise_to(self.latex_argument(), self.divide(sympy.Integer(1), index))
        if name in _FUNCTIONS:
            return self.function(name)
        if self.big_o and name == "o" and self.peek() and self.peek().value == "(":
            raise _Unreadable("Use a capital O for a big-O bound.")
        raise _Unreadable(self.unknown(name, token.text))

    def unknown(self, name, word):
        where = f" in '{word}'" if word != name else ""
        if self.big_o:
            allowed = "use only n, b and d (with +, *, ^, log, max)"
        elif self.variables:
            allowed = f"use only {', '.join(self.variables)} (with functions such as exp, log, sinh, cosh)"
        else:
            allowed = "the answer is a number, so use numbers, e, fractions and functions such as log and exp"
        return f"Unknown symbol '{name}'{where}: {allowed}."

    def bound(self):
        if not self.big_o:
            raise _Unreadable("This answer is a value, not a big-O bound: remove the O(...).")
        token = self.peek()
        if token is None or token.value not in _CLOSING:
            raise _Unreadable("Write the bound as O(...), with parentheses.")
        args = self.arguments()
        if len(args) != 1:
            raise _Unreadable("O(...) takes a single expression.")
        return args[0]

    def latex_argument(self):
        """Argument of \\frac or \\sqrt: a {group}, or one digit / symbol as in \\frac12."""
        token = self.peek()
        if token and token.kind == "num" and len(token.value) > 1 and token.value.isdigit():
            self.tokens[self.pos] = _Token("num", token.value[1:], token.text)
            return sympy.Integer(int(token.value[0]))
        return self.primary()

    def arguments(self):
        opening = self.next().value
        args = [self.expression()]
        while self.accept(","):
            args.append(self.expression())
        self.close(opening)
        return args

    def function(self, name):
        power = self.unary() if self.accept("^") else None     # \log^2 n
        base = self.latex_argument() if name == "log" and self.accept("_") else None
        token = self.peek()
        if token is None:
            raise _Unreadable(f"'{name}' needs an argument.")
        if token.kind == "op" and token.value in _CLOSING:
            args = self.arguments()
        else:
            args = [self.power()]
            while self.is_atom(self.peek()):
                args[0] = _mul(args[0], self.power())
        value = self.apply(name, args, base)
        return value if power is None else self.raise_to(value, power)

    def apply(self, name, args, base):
        if name in ("max", "min"):
            if name == "min" and self.big_o:
                raise _Unreadable("min(...) cannot be used in a big-O bound; give a sum of terms.")
            return (sympy.Max if name == "max" else sympy.Min)(*args, evaluate=False)
        if name == "log" and len(args) == 2 and base is None:    # Python's math.log(x, base)
            args, base = args[:1], args[1]
        if len(args) != 1:
            raise _Unreadable(f"'{name}' takes one argument.")
        arg = args[0]
        if name == "sqrt":
            return self.raise_to(arg, sympy.Rational(1, 2))
        if name == "lg":        # binary logarithm
            name, base = "log", sympy.Integer(2)
        if name == "exp":
            return self.raise_to(sympy.E, arg)
        if name != "log":
            return getattr(sympy, name)(arg, evaluate=False)
        if arg == 0:
            raise _Unreadable("The logarithm of zero is undefined.")
        if base is None:
            return sympy.log(arg, evaluate=False)
        try:
            value = None if base.free_symbols else _evaluate(base)
        except _NotFinite:
            value = None
        if value is None or mpmath.im(value) or mpmath.re(value) <= 0 or value == 1:
            raise _Unreadable("The base of a logarithm must be a positive number other than 1.")
        return self.divide(sympy.log(arg, evaluate=False), sympy.log(base, evaluate=False))

    def divide(self, numerator, denominator):
        if denominator == 0:
            raise _Unreadable("Division by zero.")
        return _mul(numerator, _pow(denominator, _MINUS_ONE))

    def raise_to(self, base, exponent):
        """base ** exponent, refusing large constant exponents."""
        if not exponent.free_symbols:
            try:
                size = abs(_evaluate(exponent))
            except _NotFinite:
                size = _HUGE
            if size > MAX_EXPONENT:
                raise _Unreadable(f"Exponent too large: use exponents between "
                                  f"-{MAX_EXPONENT} and {MAX_EXPONENT}.")
        return _pow(base, exponent)

# ------------------------------------------------------- numerical evaluation


def _evaluate(expr, x=None, digits=_DIGITS):
    """Value of a tree at x (a sympy Rational) with mpmath; overflow raises _NotFinite."""
    with mpmath.workdps(digits):
        return _num(expr, None if x is None else mpmath.mpf(x.p) / x.q)


_CONSTANTS = {sympy.E: mpmath.e, sympy.pi: mpmath.pi}


def _exp(z):
    if mpmath.re(z) > 690:
        raise _NotFinite
    return mpmath.exp(z)


def _num(e, x):
    if e.is_Rational:
        return mpmath.mpf(e.p) / e.q
    if e.is_Symbol:
        return x
    if e in _CONSTANTS:
        return +_CONSTANTS[e]
    values = [_num(a, x) for a in e.args]
    if isinstance(e, sympy.Add):
        v = mpmath.fsum(values)
    elif isinstance(e, sympy.Mul):
        v = mpmath.fprod(values)
    elif isinstance(e, sympy.Pow):
        base, power = values
        integral = mpmath.im(power) == 0 and abs(power) <= 10 ** 6 and power == int(mpmath.re(power))
        if e.base is sympy.E:
            v = _exp(power)
        elif base == 0:
            if mpmath.re(power) <= 0:
                raise _NotFinite
            v = mpmath.mpf(0)
        elif integral:
            v = base ** int(mpmath.re(power))
        else:
            v = _exp(power * mpmath.log(base))
    elif isinstance(e, sympy.log):
        if values[0] == 0:
            raise _NotFinite
        v = mpmath.log(values[0])
    elif isinstance(e, (sympy.sinh, sympy.cosh)):
        sign = 1 if isinstance(e, sympy.cosh) else -1
        v = (_exp(values[0]) + sign * _exp(-values[0])) / 2
    elif isinstance(e, sympy.tanh) and abs(values[0]) < 10 ** 6:
        v = mpmath.tanh(values[0])
    elif isinstance(e, (sympy.Max, sympy.Min)) and not any(mpmath.im(v) for v in values):
        v = (max if isinstance(e, sympy.Max) else min)(mpmath.re(v) for v in values)
    else:
        raise _NotFinite
    if not mpmath.isfinite(v) or abs(v) > _HUGE:
        raise _NotFinite
    return v


def _rational(e):
    """Exact value of a tree of rational numbers, +, * and integer powers, else None."""
    if e.is_Rational:
        return Fraction(e.p, e.q)
    if isinstance(e, (sympy.Add, sympy.Mul, sympy.Pow)):
        values = [_rational(a) for a in e.args]
        if None in values:
            return None
        if isinstance(e, sympy.Add):
            return sum(values)
        if isinstance(e, sympy.Mul):
            return prod(values)
        base, power = values
        if power.denominator == 1 and (base or power > 0) and \
                max(abs(base.numerator), base.denominator).bit_length() * abs(power) <= MAX_BITS:
            return base ** int(power)
    return None

# ---------------------------------------------------------- reading answers


def _answer_text(answer):
    """The answer as text, or None when it is a placeholder."""
    if answer is None or answer is Ellipsis:
        return None
    if isinstance(answer, bool):
        raise _Unreadable("Give the answer as a string, e.g. \"1/2\", not True/False.")
    if isinstance(answer, int):
        if answer.bit_length() > 3 * MAX_LENGTH:
            raise _Unreadable(f"Answer too long (more than {MAX_LENGTH} characters).")
        text = str(answer)
    elif isinstance(answer, float):
        if not isfinite(answer):
            raise _Unreadable("The answer is not a finite number.")
        text = format(Decimal(repr(answer)), "f")
        text = text if "." in text else text + ".0"
    elif isinstance(answer, str):
        text = answer
    else:
        raise _Unreadable(f"Give the answer as a string (found a {type(answer).__name__}).")
    stripped = text.strip()
    if not stripped or "TODO" in stripped.upper() or any(mark in stripped for mark in ("?", "...", "…")):
        return None
    if len(stripped) > MAX_LENGTH:
        raise _Unreadable(f"Answer too long (more than {MAX_LENGTH} characters).")
    return stripped


def _read(answer, reader):
    """(Verdict, None) for a placeholder or unreadable answer, else (None, reader(text))."""
    try:
        text = _answer_text(answer)
        if text is None:
            return _UNANSWERED, None
        return None, reader(text)
    except _Unreadable as error:
        return Verdict(False, "invalid", str(error)), None
    except (RecursionError, ArithmeticError, TypeError, ValueError):
        # sympy refuses some constructions (e.g. max of complex numbers) with these.
        return Verdict(False, "invalid", "Could not read the answer."), None


def _read_reference(reference, reader):
    verdict, value = _read(reference, reader)
    if verdict is not None:
        raise ValueError(f"reference answer {reference!r} cannot be read: {verdict.feedback}")
    return value

# ------------------------------------------------------------ big-O answers

_BIGO_VARIABLES = {v: sympy.Symbol(v, positive=True) for v in ("n", "b", "d")}
_INDEX = {symbol: i for i, symbol in enumerate(_BIGO_VARIABLES.values())}
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
        raise _Unreadable("The bound contains a number that is not real.")
    c = mpmath.re(c)
    return 0 if abs(c) < 1e-40 else (1 if c > 0 else -1)


def _constant(e):
    value = _rational(e)
    if value is None:
        try:
            value = _evaluate(e)
        except _NotFinite:
            raise _Unreadable("A constant in the bound is too large or undefined.") from None
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
            raise _Unreadable("The bound is too large to expand; simplify it first.")
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
                    raise _Unreadable("max(...) must be taken of positive terms.")
                return _sum_terms(terms for terms, _ in parts), True     # max(f, g) is Theta(f + g)
            if isinstance(e, sympy.Add):
                if approx and lowest < 0:
                    raise _Unreadable("Write the bound as a sum of positive terms (no subtraction).")
                return _sum_terms(terms for terms, _ in parts), approx
            product = parts[0][0]
            for terms, _ in parts[1:]:
                product = self.multiply(product, terms)
            return product, approx
        if isinstance(e, sympy.Pow):
            return self.power(e)
        if isinstance(e, sympy.log):
            return self.log(e.args[0])
        raise _Unreadable("Use only sums and products of powers of n, b, d and their logarithms.")

    def power(self, e):
        k = None if e.exp.free_symbols else _rational(e.exp)
        if k is None:
            raise _Unreadable("Exponents must be numbers such as 2 or 1/2.")
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
            raise _Unreadable("Dividing by a sum such as (n + d) is not allowed in a bound.")
        if min((_sign(c) for c in terms.values()), default=0) <= 0:
            raise _Unreadable("Roots must be taken of positive terms.")
        # (f + g)^k is Theta(f^k + g^k) for positive f, g and k > 0.
        return {_key(v * k for v in key): _raise(c, k) for key, c in terms.items()}, True

    def log(self, arg):
        terms, approx = self.expand(arg)
        if any(any(key[3:]) for key in terms):
            raise _Unreadable("Logarithms of logarithms are not supported.")
        if min((_sign(c) for c in terms.values()), default=0) <= 0:
            raise _Unreadable("Take logarithms of positive terms only.")
        if len(terms) == 1:     # log(c n^a b^β d^γ) = log c + a log n + β log b + γ log d
            (key, c), = terms.items()
            result = {_unit(3 + i): v for i, v in enumerate(key[:3]) if v}
            if c != 1:
                result[_ONE] = mpmath.log(_mp(c))
            return result, approx
        if any(v < 0 for key in terms for v in key[:3]):
            raise _Unreadable("Take logarithms of quantities that grow, such as n or n + d.")
        # log(f + g) is Theta(sum of log v over the variables v that occur).
        used = sorted({i for key in terms for i in range(3) if key[i]})
        return {_unit(3 + i): Fraction(1) for i in used}, True


def _read_bigo(text):
    expr = _Parser(_normalise(text), _BIGO_VARIABLES, big_o=True).parse()
    with mpmath.workdps(_DIGITS):
        terms, _ = _Expander().expand(expr)
        signs = {key: _sign(c) for key, c in terms.items()}
    if min(signs.values(), default=0) < 0:
        raise _Unreadable("Write the bound as a sum of positive terms (no subtraction).")
    kept = [key for key, sign in signs.items() if sign > 0]
    if not kept:
        raise _Unreadable("This bound is zero.")
    # Terms at most a constant times another term change nothing: drop them.
    return [t for t in kept if not any(p != t and _covers(p, t) for p in kept)]


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


def compare_bigo(answer, reference) -> Verdict:
    expected = _read_reference(reference, _read_bigo)
    verdict, given = _read(answer, _read_bigo)
    if verdict is not None:
        return verdict
    upper = all(_dominated(t, expected) for t in given)     # answer = O(reference)
    lower = all(_dominated(t, given) for t in expected)     # reference = O(answer)
    if upper and lower:
        return Verdict(True, "equivalent", _CORRECT)
    kind = "too loose" if lower else "too tight" if upper else "incomparable"
    return Verdict(False, kind, _BIGO_FEEDBACK[kind])


def readable_bigo(answer) -> Verdict:
    verdict, _ = _read(answer, _read_bigo)
    return verdict or _READABLE

# ------------------------------------------------------------- value answers

_POINTS = tuple(sympy.Rational(v, 10) for v in (-27, -19, -11, -3, 6, 14, 23))


def _read_value(text, variables):
    parser = _Parser(_normalise(text), {v: sympy.Symbol(v, real=True) for v in variables}, big_o=False)
    return parser.parse(), parser.decimals


def _error(given, expected, points, digits=_DIGITS):
    """Largest relative difference over the points (absolute where the expected value is 0)."""
    error = mpmath.mpf(0)
    for p in points:
        a, b = _evaluate(given, p, digits), _evaluate(expected, p, digits)
        error = max(error, abs(a - b) / abs(b) if b != 0 else abs(a))
    return error


def compare_value(answer, reference) -> Verdict:
    """Compare by high-precision numerical evaluation; with x in the reference, as functions of x.

    Both sides are evaluated with 60 digits (at seven points in [-3, 3] when x occurs).
    Agreement to 1e-40 (1e-9 at every point for functions of x) counts as equality.
    An answer containing decimals with D digits in all is "equal" only if it agrees
    to 1e-(D + 40) at 2D + 60 digits, far beyond what its decimals could achieve by
    approximation; otherwise it is "close" if within DECIMAL_RTOL.
    """
    expected, _ = _read_reference(reference, lambda text: _read_value(text, ("x",)))
    variables = ("x",) if expected.free_symbols else ()
    points = _POINTS if variables else (None,)
    try:
        for p in points:
            _evaluate(expected, p)
    except _NotFinite:
        raise ValueError(f"reference answer {reference!r} cannot be evaluated") from None
    verdict, read = _read(answer, lambda text: _read_value(text, variables))
    if verdict is not None:
        return verdict
    given, decimals = read
    try:
        error = _error(given, expected, points)
        if not decimals:
            equal, close = error <= (1e-9 if variables else 1e-40), False
        else:
            close = error <= DECIMAL_RTOL
            equal = close and _error(given, expected, points, 2 * decimals + _DIGITS) <= \
                mpmath.mpf(10) ** -(decimals + 40)
    except (_NotFinite, ArithmeticError):
        equal = close = False
    if equal:
        return Verdict(True, "equal", _CORRECT)
    if close:
        return Verdict(True, "close", _CLOSE)
    return Verdict(False, "different", _DECIMAL_OFF if decimals else _DIFFERENT)


def readable_value(answer, variables=()) -> Verdict:
    verdict, _ = _read(answer, lambda text: _read_value(text, tuple(variables)))
    return verdict or _READABLE
