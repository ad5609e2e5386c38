"""Reading an answer: from the student's text to unevaluated sympy trees.

Three steps, none of which evaluates the student's text:

* clean()    -- undoes what Python strings and Unicode do to LaTeX: control characters
                from non-raw strings ("\\frac" typed without r"" arrives as a form feed
                and "rac"), math-italic letters, fullwidth signs, zero-width characters,
                superscripts (d² stays d^{2}).
* answer_members() -- finds the mathematics in the text: strips $...$, \\(...\\),
                \\boxed{...}, prose (\\text{since ...}, words, "Answer: ..."), a final period,
                the ellipsis of a truncated decimal; splits alternatives ("A or B", "A, i.e. B")
                and chains A = B = C; refuses text with program syntax ("if ... else").
* Parser     -- a tokenizer and a recursive-descent parser that build sympy objects
                through their constructors only (evaluate=False).  Sums and products are
                built flat, so a tree is only as deep as the nesting the parser bounds.

show() writes a parsed tree back as plain text, for feedback ("read as log(1)/2").
"""
from __future__ import annotations

import re
import unicodedata
from collections import namedtuple
from decimal import Decimal
from math import isfinite

import mpmath
import sympy

from .evaluate import HUGE, NotFinite, evaluate
from .latex import BRACE as _BRACE
from .latex import MAX_TEXT, TODO, matching_braces

MAX_RAW = 200_000     # characters of an answer looked at, whitespace included
MAX_LENGTH = 300      # characters in the mathematics of one member, whitespace not counted
MAX_MEMBERS = 8       # members of a chain A = B = C
MAX_ALTERNATIVES = 4  # alternatives "A or B"
MAX_DEPTH = 40        # nesting of parentheses, signs, exponents and functions
MAX_TREE_DEPTH = 200  # depth of a parsed tree (a safety net: the parser's nesting bounds it)
MAX_EXPONENT = 50     # largest |exponent| of a power
_MAX_OVER = 10        # uses of TeX's \over in one member


class Unreadable(Exception):
    """The answer cannot be read; the message is shown to the student."""


class ProseOnly(Unreadable):
    """The answer (or one alternative) is words with no formula."""


PROSE_ONLY = ("Could not read as a formula: your answer is words, with no formula in it. Write the "
              "answer itself as a formula (not a reference to another answer); an explanation may "
              "follow it.")
_SPACE = re.compile(r"\s")
_RUNS = re.compile(r"\s+(?=\s)")     # all but the last character of a run of whitespace


def length(text):
    """Characters of a text, whitespace not counted."""
    return len(_SPACE.sub("", text))


def quote(text):
    return f'"{text}"' if "'" in text else f"'{text}'"

# ------------------------------------------------------------ answer values


def answer_text(answer):
    """The answer as text (None for the placeholders None and ...); checks type and size."""
    if answer is None or answer is Ellipsis:
        return None
    if isinstance(answer, bool):
        raise Unreadable("Give the answer as a string, e.g. \"1/2\", not True/False.")
    if isinstance(answer, int):
        if answer.bit_length() > 3 * MAX_LENGTH:
            raise Unreadable(f"Answer too long (more than {MAX_LENGTH} characters).")
        return str(answer)
    if isinstance(answer, float):
        if not isfinite(answer):
            raise Unreadable("The answer is not a finite number.")
        text = format(Decimal(repr(answer)), "f")
        return text if "." in text else text + ".0"
    if isinstance(answer, str):
        if len(answer) > MAX_RAW:
            raise Unreadable(f"Answer too long (more than {MAX_RAW} characters, spaces included).")
        text = _RUNS.sub("", answer)     # the last one stays: "\f" of "\frac" is whitespace
        if length(text) > MAX_TEXT:
            raise Unreadable(f"Answer too long (more than {MAX_TEXT} characters, not counting spaces).")
        return text
    raise Unreadable(f"Give the answer as a string (found a {type(answer).__name__}).")

# ----------------------------------------------------------------- cleaning

# Python turns \a \b \f \n \r \t \v of a non-raw string into control characters.
_ESCAPES = {"\a": "a", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t", "\v": "v"}
_ESCAPED = re.compile("([\a\b\f\n\r\t\v])([A-Za-z]*)")
# LaTeX commands starting with those letters that a student may have meant.
_RESTORABLE = {"approx", "alpha", "ast", "bar", "beta", "big", "bigl", "bigr", "boxed", "fbox",
               "frac", "nabla", "ne", "neq", "newline", "nu", "rangle", "right", "rm", "rvert",
               "tanh", "text", "textbf", "textit", "textrm", "textsf", "texttt", "tfrac", "theta",
               "times", "varepsilon", "vert"}
_UNICODE = {"·": "*", "⋅": "*", "×": "*", "∗": "*", "∙": "*", "•": "*", "÷": "/", "⁄": "/",
            "∕": "/", "−": "-", "–": "-", "—": "-", "√": " sqrt ", "π": " pi ", "Θ": r"\Theta ",
            "Ω": r"\Omega ", "½": "(1/2)", "¼": "(1/4)", "¾": "(3/4)", "≈": r" \approx ",
            "≡": r" \equiv ", "…": "...", "⋯": "..."}
_SCRIPT = {"<super>": "^", "<sub>": "_"}


def _script(c):
    """'^' for a superscript character such as ², '_' for a subscript, else None."""
    return _SCRIPT.get(unicodedata.decomposition(c).split(" ", 1)[0]) if ord(c) > 127 else None


def _restore(match):
    name = _ESCAPES[match.group(1)] + match.group(2)
    return "\\" + name if name in _RESTORABLE else " " + match.group(2)


def clean(text: str) -> str:
    """Plain ASCII-like text: escapes restored, Unicode normalised, invisible characters gone."""
    text = _ESCAPED.sub(_restore, text)
    out, run, kind = [], [], None
    for c in text + " ":
        script = _script(c)
        if script != kind and run:      # close a run of superscripts or subscripts
            out.append(kind + "{" + unicodedata.normalize("NFKC", "".join(run)) + "}")
            run = []
        kind = script
        if script:
            run.append(c)
        else:
            out.append(_UNICODE.get(c, c))
    text = unicodedata.normalize("NFKC", "".join(out))
    text = "".join(_UNICODE.get(c, c) for c in text)
    if length(text) > 2 * MAX_TEXT:
        raise Unreadable(f"Answer too long (more than {MAX_TEXT} characters).")
    return "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
                   for c in text if unicodedata.category(c) != "Cf").strip()

# ---------------------------------------------------------- finding the math




def _outside_braces(s, pattern):
    """The matches of `pattern` in s that stand outside every {...} group, in one linear pass."""
    braces = [(m.start(), 1 if m.group() == "{" else -1) for m in _BRACE.finditer(s) if m.group() in "{}"]
    found, depth, k = [], 0, 0
    for m in pattern.finditer(s):
        while k < len(braces) and braces[k][0] < m.start():
            depth = max(0, depth + braces[k][1])
            k += 1
        if depth == 0:
            found.append(m)
    return found


_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_TEXT_GROUP = re.compile(r"\\(?:text|textrm|textit|textbf|textsf|texttt|mbox|mathrm|mathit|"
                         r"mathbf|mathsf|operatorname|rm)\s*\{([^{}]*)\}")
_SEPARATOR = re.compile(r"==?|\\approx(?![A-Za-z])|\\equiv(?![A-Za-z])|\\simeq(?![A-Za-z])")
_ALTERNATIVE = re.compile(r"(?<![A-Za-z\\])(?:or|i\.\s?e\.?)(?![A-Za-z])", re.IGNORECASE)
_WORD_BEFORE = re.compile(r"(?<![\\A-Za-z])([A-Za-z]+)[\s,;:(]*$")
_WORD_AFTER = re.compile(r"[\s,;:)]*([A-Za-z]+)")
_PROSE_MARK = "\x00"
# A word, or a \text{...} group; a word glued to "_" or "_{" is a subscript (T_run, n_{layers}).
_PROSE = re.compile(_TEXT_GROUP.pattern + r"|(?<![\\A-Za-z_])(?<!_\{)([A-Za-z]+(?:'[A-Za-z]+)*)")
_SUBSCRIPT = re.compile(r"[_^]\s*\{?\s*$")
# Words after which the rest of a member explains the answer: "1/4 since dz/dd = e/2".
_EXPLANATIONS = {"since", "because", "as", "by", "from", "using", "given", "where", "when", "so",
                 "hence", "thus", "therefore", "which", "with"}
_SPACING = ("\\quad", "\\qquad", "\\,", "\\;", "\\:", "\\!", "\\ ", "\\\\")
_ELLIPSIS = re.compile(r"(\d)\s*(?:\.{2,}|\\[lc]?dots(?![A-Za-z]))\s*$")
_PLACEHOLDER = re.compile(r"\.\.|\?|\\[lc]?dots(?![A-Za-z])")
_BLANK = re.compile(r"(?:\s|[O(){}\[\].]|\\(?:mathcal|Theta|left|right|text|mathrm)(?![A-Za-z]))*")
_OVER = re.compile(r"\\over(?![A-Za-z])")
# Program syntax, which is neither prose nor mathematics: "O(nbd^2) if x else 0".
_CODE = re.compile(r"__|!=|`|(?<![A-Za-z\\])(?:lambda|import)(?![A-Za-z])|\w\s*\(\s*['\"]|"
                   r"\w\.[A-Za-z_]\w*\(")
_IF = re.compile(r"(?<![A-Za-z\\])if(?![A-Za-z])", re.IGNORECASE)
_ELSE = re.compile(r"(?<![A-Za-z\\])else(?![A-Za-z])", re.IGNORECASE)


_MODULES = [
    (re.compile(r"\b(?:math|numpy|np)\.log2\s*\("), "log_2("),
    (re.compile(r"\b(?:math|numpy|np)\.log10\s*\("), "log_{10}("),
    (re.compile(r"\b(?:math|numpy|np|sympy|sp|torch)\."), ""),
]


def _unbox(s):
    """\\boxed{X} -> X anywhere (nested boxes too), in linear time."""
    if not _BOX.search(s):
        return s
    pairs = matching_braces(s)
    drop = {}
    for m in _BOX.finditer(s):
        close = pairs.get(m.end() - 1)
        if close is not None:
            drop[m.start()] = m.end()
            drop[close] = close + 1
    out, i = [], 0
    for start in sorted(drop):
        if start >= i:
            out.append(s[i:start])
            i = drop[start]
    out.append(s[i:])
    return "".join(out)


def _unwrap(s):
    s = s.strip()
    for opening, closing in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(s) >= len(opening) + len(closing) and s.startswith(opening) and s.endswith(closing):
            s = s[len(opening):-len(closing)]
    for delimiter in ("$", "\\(", "\\)", "\\[", "\\]"):
        s = s.replace(delimiter, " ")
    for pattern, replacement in _MODULES:      # math.log(2), np.exp(x)
        s = pattern.sub(replacement, s)
    return _unbox(s)


def _code(s):
    """Why s is not prose: it has program syntax, or makes the answer conditional; else None."""
    m = _CODE.search(s)
    if m:
        return f"{quote(m.group().strip()[:40])} is program syntax"
    m = _IF.search(s)
    if m and _ELSE.search(s, m.end()):
        return "'if ... else' makes the answer conditional (or is program code)"
    return None


def _split(s, pattern, limit, message, skip=None):
    parts, start = [], 0
    for m in _outside_braces(s, pattern):
        if skip and skip(m):
            continue
        parts.append(s[start:m.start()])
        start = m.end()
        if len(parts) >= limit:
            raise Unreadable(message)
    parts.append(s[start:])
    return parts


def _split_chain(s):
    """A = B = C -> [A, B, C]; an '=' inside braces (\\text{...}, \\sum_{i=1}) does not split."""
    return _split(s, _SEPARATOR, MAX_MEMBERS,
                  f"Too many '=' in the answer: give at most {MAX_MEMBERS} equal members.")


def _split_alternatives(s, context):
    """"A or B", "A, i.e. B" -> [A, B] ([s] if there are none).

    \\text{A or B} and \\text{(or } are opened first; "or" between words ("one or two
    buffers") is prose, not a separator.
    """
    if not _ALTERNATIVE.search(s):
        return [s]
    s = _TEXT_GROUP.sub(lambda m: f" {m.group(1)} " if _ALTERNATIVE.search(m.group(1)) or
                        not re.search("[A-Za-z]", m.group(1)) else m.group(0), s)

    def between_words(m):
        before = _WORD_BEFORE.search(m.string, max(0, m.start() - 80), m.start())
        after = _WORD_AFTER.match(m.string, m.end())
        return any(w and context.is_prose(w.group(1)) for w in (before, after))

    parts = _split(s, _ALTERNATIVE, MAX_ALTERNATIVES,
                   f"Too many alternatives: give one answer (at most {MAX_ALTERNATIVES} equivalent forms).",
                   skip=between_words)
    for i in range(len(parts) - 1):         # "0.5 (or 1/2)": the parentheses go with the word
        before = parts[i].rstrip(" ,;")
        if before.endswith("(") and parts[i + 1].rstrip().endswith(")"):
            parts[i], parts[i + 1] = before[:-1], parts[i + 1].rstrip()[:-1]
    return parts


class Context:
    """What a word may mean in an answer: its variables, and whether it is a big-O bound."""

    def __init__(self, variables: dict, big_o: bool):
        self.variables = variables
        self.big_o = big_o

    def variable(self, name):
        if self.big_o and name in ("N", "B", "D"):
            name = name.lower()
        return self.variables.get(name)

    def is_prose(self, word):
        """A word that is not mathematics here ("since", "same", "layers"); 'nbd', 'log' are."""
        if len(word) < 2:
            return False
        return any(len(part) == 1 and self.variable(part) is None and part not in "eO"
                   for part in split_word(word))


def _drop_prose(s, context):
    """(pieces of mathematics between the prose, does the first one end the answer?), or None
    if the member has no prose.

    A \\text{...} group with a prose word is prose, unless it is a subscript (T_{\\text{run}}).
    The first piece ends the answer when an explanation follows it ("1/4 since ...").
    """
    words = []

    def mark(m):
        if m.group(1) is not None:      # a \text{...} group
            if _SUBSCRIPT.search(m.string, max(0, m.start() - 3), m.start()):
                return m.group(0)
            prose = [w for w in _WORD.findall(m.group(1)) if context.is_prose(w)]
            if not prose:
                return m.group(0)
            words.append(prose[0].lower())
        elif context.is_prose(m.group(2)) and not _glued(m):
            words.append(m.group(2).lower())
        else:
            return m.group(0)
        return _PROSE_MARK

    s = _PROSE.sub(mark, s)
    colon = s.rfind(":")
    while colon > 0 and s[colon - 1] == "\\":      # \: is a space
        colon = s.rfind(":", 0, colon - 1)
    head = s[:max(colon, 0)]
    if colon >= 0 and _PROSE_MARK in head:
        words = words[head.count(_PROSE_MARK):]    # "Answer: O(nbd)", "\text{Same as before:} O(nbd)"
        s = s[colon + 1:]
    elif not words:
        return None
    parts = [_trim(part) for part in s.split(_PROSE_MARK)]
    ends = bool(parts[0]) and len(parts) > 1 and words[0] in _EXPLANATIONS
    return [part for part in parts if part], ends


_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]+")
_OPERATORS = set("+-*/^,=")


def _glued(m):
    """Is the word held by the formula on both sides, as "nbk" in "O(nbk)" or "n*bk+d"?  Then
    it is part of the formula (a typo, for the parser to point out), not prose as in
    "-1/4 (negative)"."""
    s, i, j = m.string, m.start(), m.end()
    left = i > 0 and (s[i - 1] in _OPERATORS or s[i - 1] in "([{" and i > 1 and s[i - 2].isalnum())
    return left and j < len(s) and (s[j] in _OPERATORS or s[j] in ")]}")


def _trim(s):
    """A piece of text between prose without the spaces, punctuation and brackets around it."""
    while True:
        before = s
        s = s.strip(" \t\n,;:~").rstrip("([{-")
        for spacing in _SPACING:
            s = s.removeprefix(spacing).removesuffix(spacing)
        if s == before:
            return s


def _over(s):
    """TeX's {a \\over b} -> {(a)/(b)}: the enclosing brace group (or everything) is split."""
    for _ in range(_MAX_OVER + 1):
        m = _OVER.search(s)
        if not m:
            return s
        depth, start = 0, 0
        for i in range(m.start() - 1, -1, -1):
            depth += {"}": 1, "{": -1}.get(s[i], 0)
            if depth < 0:
                start = i + 1
                break
        depth, end = 0, len(s)
        for i in range(m.end(), len(s)):
            depth += {"{": 1, "}": -1}.get(s[i], 0)
            if depth < 0:
                end = i
                break
        s = f"{s[:start]}({s[start:m.start()]})/({s[m.end():end]}){s[end:]}"
    raise Unreadable("Too many \\over in the answer: use \\frac{...}{...}.")


# A member of a chain: `texts` are its pieces of mathematics, to be tried in order; `full`
# the whole member when prose was dropped from it (None otherwise); `ends` says that an
# explanation follows the first piece, so that the answer ends there.
Member = namedtuple("Member", "texts full ends")


def _member(s, context):
    """A Member; "" for an empty member, None for a placeholder."""
    found = _drop_prose(s, context)
    texts, ends = ([s], False) if found is None else found
    maths, placeholder = [], False
    for text in texts:
        text = _ELLIPSIS.sub(r"\1", text.strip())       # 0.693... is a truncated decimal
        mark = _PLACEHOLDER.search(text)
        if mark and _BLANK.fullmatch(_PLACEHOLDER.sub("", text)):
            placeholder = True          # "...", "O(...)", "?": the placeholder as it was
            continue
        if mark:
            raise Unreadable(f"Could not read {quote(mark.group())}: part of your answer is still "
                             "a placeholder; finish it or remove the placeholder.")
        text = text.rstrip(" \t\n.,;")                  # a final period
        if not text.strip(" .,;"):
            continue
        if length(text) > MAX_LENGTH:
            raise Unreadable(f"Answer too long (more than {MAX_LENGTH} characters).")
        maths.append(_over(text))
    if found is None:
        return None if placeholder else Member(maths, None, False) if maths else ""
    if placeholder and not maths:
        return None
    full = _over(s) if length(s) <= MAX_LENGTH else None
    return Member(maths, full, ends)


def _members(s, context):
    """The members of one alternative's chain, or None for a placeholder."""
    found = [_member(part, context) for part in _split_chain(s)]
    if found[-1] == "":         # "a = ": the answer is still to come
        return None
    found = [m for m in found if m != ""]
    if not found or found[-1] is None:
        return None
    if None in found:
        raise Unreadable("Part of your answer is still a placeholder: fill in every member.")
    if not found[-1].texts:
        raise ProseOnly(PROSE_ONLY)
    return found


def answer_members(text: str, context: Context):
    """For each alternative of the answer ("A or B"), the members of its chain as Member
    tuples; None for a placeholder.

    "or" and "i.e." separate alternatives only when every side holds a formula: in
    "O(nbd^2) \\text{ or so}" the word is prose.
    """
    s = _unwrap(clean(text))
    if "TODO" in s.upper() and _BLANK.fullmatch(TODO.sub("", s)):
        return None             # the template's O(\text{TODO: fill me in}), as it was
    code = _code(s)
    if code:
        raise Unreadable(f"Could not read as a formula: {code}, neither mathematics nor prose. "
                         "Give one answer as a formula; an explanation may follow it in words.")
    parts = _split_alternatives(s, context)
    if len(parts) > 1:
        try:
            found = [_members(part, context) for part in parts]
            if None not in found:
                return found
        except ProseOnly:
            pass
    found = _members(s, context)
    return None if found is None else [found]

# ----------------------------------------------------------------- tokenizer

Token = namedtuple("Token", "kind value text pos")   # kind: "num", "name" or "op"

_TOKEN = re.compile(r"""
    (?P<space>\s+|\\[,;:!\ ]|\\\\|~|&)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<cmd>\\[A-Za-z]+|\\[{}])
  | (?P<word>[A-Za-z]+)
  | (?P<op>\*\*|[-+*/^_(){}\[\],])
""", re.VERBOSE)
FUNCTIONS = ("log", "lg", "exp", "sinh", "cosh", "tanh", "sqrt", "max", "min")
# Words a run of letters is split into (longest first, any case for function names);
# every other letter stands alone.
_WORDS = sorted(FUNCTIONS + ("ln", "pi"), key=len, reverse=True)
_NAMES = ("Theta", "Omega", "theta")     # \theta(n) is written for \Theta(n)
_CASELESS = set(FUNCTIONS) | {"ln"}        # \Log, \LN, ... are read as \log
_COMMANDS = {"log": "log", "ln": "log", "lg": "lg", "exp": "exp", "sinh": "sinh", "cosh": "cosh",
             "tanh": "tanh", "max": "max", "min": "min", "Theta": "Theta", "theta": "Theta",
             "Omega": "Omega",
             "pi": "pi", "sqrt": r"\sqrt", "frac": r"\frac", "tfrac": r"\frac",
             "dfrac": r"\frac", "cfrac": r"\frac"}
_COMMAND_OPS = {"cdot": "*", "times": "*", "ast": "*", "div": "/", "{": "(", "}": ")"}
_IGNORED = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
            "displaystyle", "quad", "qquad", "newline"}
CLOSING = {"(": ")", "[": "]", "{": "}"}


def split_word(word: str) -> list[str]:
    """'nlogn' -> n, log, n and 'Log' -> log: function names stay whole, other letters stand alone."""
    parts, i, lower = [], 0, word.lower()
    while i < len(word):
        part = next((w for w in _NAMES if word.startswith(w, i)), None) or \
            next((w for w in _WORDS if lower.startswith(w, i)), word[i])
        parts.append({"ln": "log", "theta": "Theta"}.get(part, part))
        i += len(part)
    return parts


def _tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            bad = text[pos:pos + 2] if text[pos] == "\\" else text[pos]
            raise Unreadable(f"Could not read {quote(bad)}.")
        start, pos, kind, s = pos, match.end(), match.lastgroup, match.group()
        if kind == "cmd":
            name = s[1:]
            if name in _COMMAND_OPS:
                tokens.append(Token("op", _COMMAND_OPS[name], s, start))
            elif name in _COMMANDS or name.lower() in _CASELESS:
                tokens.append(Token("name", _COMMANDS.get(name) or _COMMANDS[name.lower()], s, start))
            elif name not in _IGNORED:
                raise Unreadable(f"Could not read {quote(s)}.")
        elif kind == "word":
            tokens.extend(Token("name", part, s, start) for part in split_word(s))
        elif kind == "op":
            tokens.append(Token("op", "^" if s == "**" else s, s, start))
        elif kind == "num":
            tokens.append(Token("num", s, s, start))
    return tokens

# -------------------------------------------------------------------- parser

# Trees are built unevaluated: sympy's automatic simplification can be led into
# unbounded work (exp(c log k) becomes k^c computed exactly, Max compares its
# arguments numerically, ...).  Everything downstream reads the raw tree.
MINUS_ONE = sympy.Integer(-1)


def _add(*args):
    return args[0] if len(args) == 1 else sympy.Add(*args, evaluate=False)


def _mul(*args):
    return args[0] if len(args) == 1 else sympy.Mul(*args, evaluate=False)


def _pow(a, b):
    return sympy.Pow(a, b, evaluate=False)


class Parser:
    """Recursive descent over the tokens; builds sympy objects by their constructors.

    Grammar:  expression = term {("+" | "-") term}
              term       = unary {("*" | "/") unary | power}     (juxtaposition multiplies)
              unary      = ("-" | "+") unary | power
              power      = primary ["^" exponent]
    A function without parentheses takes the following product of numbers and
    variables as its argument: "log 2", "sinh x", "log n^2", "n log n".
    Sums and products are built flat (one Add of all the terms), so that "nnn...n" is a
    shallow tree; nesting (brackets, signs, exponents, functions) is bounded by MAX_DEPTH.
    `bare_e` counts the letters e not raised to a power: in a derivation "e/2" may be the
    exercise's node e rather than Euler's number.
    """

    def __init__(self, text: str, context: Context):
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0
        self.context = context
        self.big_o = context.big_o
        self.decimals = 0           # digits written in decimal numbers ("0.25" has 3)
        self.bare_e = 0

    def parse(self):
        if not self.tokens:
            raise Unreadable("Empty answer.")
        value = self.expression()
        if self.pos < len(self.tokens):
            raise self.unexpected(self.tokens[self.pos])
        if _depth(value) > MAX_TREE_DEPTH:
            raise Unreadable("The answer is too deeply nested.")
        return value

    # -- token helpers
    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self):
        token = self.peek()
        if token is None:
            raise Unreadable("The answer ends too early: something is missing.")
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
            return Unreadable("Unbalanced parentheses.")
        return Unreadable(f"Could not read {quote(token.text)} here.")

    def descend(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unreadable("The answer is too deeply nested.")

    def is_atom(self, token):
        """Does the token start a number or a variable (a factor of an implicit product)?"""
        if token is None:
            return False
        if token.kind == "num":
            if self.tokens[self.pos - 1].kind == "num":
                raise Unreadable(f"Two numbers in a row: '{self.tokens[self.pos - 1].text} {token.text}'.")
            return True
        return token.kind == "name" and (token.value in ("e", "pi") or self.context.variable(token.value) is not None)

    def starts_primary(self, token):
        """Does the token start a factor of an implicit product ("2n", "n(b + d)", "n log n")?"""
        if token is None or token.kind == "num":
            return self.is_atom(token)
        return token.kind == "name" or token.value in CLOSING

    # -- grammar
    def expression(self):
        self.descend()
        terms = [self.term()]
        while token := self.accept("+", "-"):
            rhs = self.term()
            terms.append(rhs if token.value == "+" else _mul(MINUS_ONE, rhs))
        self.depth -= 1
        return _add(*terms)

    def term(self):
        factors = [self.unary()]
        while True:
            if token := self.accept("*", "/"):
                rhs = self.unary()
                factors.append(rhs if token.value == "*" else self.reciprocal(rhs))
            elif self.starts_primary(self.peek()):
                factors.append(self.power())
            else:
                return _mul(*factors)

    def unary(self):
        self.descend()
        if self.accept("-"):
            value = _mul(MINUS_ONE, self.unary())
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
            if token.value not in CLOSING:
                raise self.unexpected(token)
            value = self.expression()
            self.close(token.value)
            return value
        return self.name(token)

    def close(self, opening):
        if not self.accept(CLOSING[opening]):
            token = self.peek()
            if token and token.value == ",":
                raise self.unexpected(token)
            raise Unreadable("Unbalanced parentheses.")

    def number(self, text):
        mantissa, _, power = text.lower().partition("e")
        whole, _, fraction = mantissa.partition(".")
        if "." in text:         # 1e-3 is exact; 0.001 and 1.0e-3 are decimals
            self.decimals += sum(c.isdigit() for c in text)
        value = sympy.Rational(int(whole + fraction or "0"), 10 ** len(fraction))
        if power:
            value = _mul(value, self.raise_to(sympy.Integer(10), sympy.Integer(int(power))))
        return value

    def subscript(self):
        """The text of a subscript after '_': a {group}, or the following word or number."""
        token = self.next()
        if token.kind == "op" and token.value in CLOSING:
            depth = 1
            while depth:
                inner = self.next()
                if inner.kind == "op":
                    depth += (inner.value in CLOSING) - (inner.value in CLOSING.values())
            return re.sub(r"\\|\s", "", self.text[token.pos + 1:inner.pos])
        while self.peek() and self.peek().pos == token.pos and self.peek().kind == "name":
            self.pos += 1        # the other letters of the same word
        return token.text.lstrip("\\")

    def name(self, token):
        name = token.value
        if name not in FUNCTIONS and self.accept("_"):        # n_layers, x_1, T_{run}
            raise Unreadable(self.unknown(f"{name.lstrip(chr(92))}_{self.subscript()}", None))
        symbol = self.context.variable(name)
        if symbol is not None:
            return symbol
        if name == "e":
            after = self.peek()
            self.bare_e += not (after and after.value == "^")
            return sympy.E
        if name == "pi":
            return sympy.pi
        if name == "Omega":
            raise Unreadable("Give a big-O (upper) bound written as O(...), not Omega(...).")
        if name in ("O", "Theta", r"\frac", r"\sqrt") or name in FUNCTIONS:
            self.descend()
            value = self.operator(name)
            self.depth -= 1
            return value
        if self.big_o and name == "o" and self.peek() and self.peek().value == "(":
            raise Unreadable("Use a capital O for a big-O bound.")
        raise Unreadable(self.unknown(name, token.text))

    def operator(self, name):
        """A bound, fraction, root or function and its arguments."""
        if name in ("O", "Theta"):
            return self.bound()
        if name == r"\frac":
            return self.divide(self.latex_argument(), self.latex_argument())
        if name == r"\sqrt":
            index = sympy.Integer(2)
            if self.accept("["):
                index = self.expression()
                self.close("[")
            return self.raise_to(self.latex_argument(), self.divide(sympy.Integer(1), index))
        return self.function(name)

    def unknown(self, name, word):
        where = f" in '{word}'" if word and word != name else ""
        if self.big_o:
            allowed = "use only the variables n, b and d (with +, *, ^, log, max)"
        elif self.context.variables:
            allowed = (f"use only the variable {', '.join(self.context.variables)} "
                       "(with functions such as exp, log, sinh, cosh)")
        else:
            allowed = "the answer is a number, so use numbers, e, fractions and functions such as log and exp"
        return f"Unknown symbol '{name}'{where}: {allowed}."

    def bound(self):
        if not self.big_o:
            raise Unreadable("This answer is a value, not a big-O bound: remove the O(...).")
        token = self.peek()
        if token is None or token.value not in CLOSING:
            raise Unreadable("Write the bound as O(...), with parentheses.")
        args = self.arguments()
        if len(args) != 1:
            raise Unreadable("O(...) takes a single expression.")
        return args[0]

    def latex_argument(self):
        """Argument of \\frac or \\sqrt: a {group}, or one digit / symbol as in \\frac12."""
        token = self.peek()
        if token and token.kind == "num" and len(token.value) > 1 and token.value.isdigit():
            self.tokens[self.pos] = Token("num", token.value[1:], token.text, token.pos)
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
            raise Unreadable(f"'{name}' needs an argument.")
        if token.kind == "op" and token.value in CLOSING:
            args = self.arguments()
        else:
            factors = [self.power()]
            while self.is_atom(self.peek()):
                factors.append(self.power())
            args = [_mul(*factors)]
        value = self.apply(name, args, base)
        return value if power is None else self.raise_to(value, power)

    def apply(self, name, args, base):
        if name in ("max", "min"):
            if name == "min" and self.big_o:
                raise Unreadable("min(...) cannot be used in a big-O bound; give a sum of terms.")
            return (sympy.Max if name == "max" else sympy.Min)(*args, evaluate=False)
        if name == "log" and len(args) == 2 and base is None:    # Python's math.log(x, base)
            args, base = args[:1], args[1]
        if len(args) != 1:
            raise Unreadable(f"'{name}' takes one argument.")
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
            raise Unreadable("The logarithm of zero is undefined.")
        if base is None:
            return sympy.log(arg, evaluate=False)
        try:
            value = None if base.free_symbols else evaluate(base)
        except NotFinite:
            value = None
        if value is None or mpmath.im(value) or mpmath.re(value) <= 0 or value == 1:
            raise Unreadable("The base of a logarithm must be a positive number other than 1.")
        return self.divide(sympy.log(arg, evaluate=False), sympy.log(base, evaluate=False))

    def divide(self, numerator, denominator):
        return _mul(numerator, self.reciprocal(denominator))

    def reciprocal(self, denominator):
        if denominator == 0:
            raise Unreadable("Division by zero.")
        return _pow(denominator, MINUS_ONE)

    def raise_to(self, base, exponent):
        """base ** exponent, refusing large constant exponents."""
        if not exponent.free_symbols:
            try:
                size = abs(evaluate(exponent))
            except NotFinite:
                size = HUGE
            if size > MAX_EXPONENT:
                raise Unreadable(f"Exponent too large: use exponents between "
                                 f"-{MAX_EXPONENT} and {MAX_EXPONENT}.")
        return _pow(base, exponent)


_REWRITES = [
    # \text{..}, \mathrm{..}, \mathcal{O}, ...: keep the content.
    (re.compile(r"\\(?:text|textrm|textit|textbf|textsf|texttt|mbox|mathrm|mathit|mathbf|mathsf|"
                r"mathcal|operatorname|rm)\s*\{([^{}]*)\}"), r" \1 "),
    (re.compile(r"\\mathcal\s*O"), "O"),
]


def normalise(text: str) -> str:
    """One member's mathematics in the parser's syntax (\\text{...} and \\mathcal{O} unwrapped)."""
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def _depth(tree):
    """Depth of a tree, without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        e, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((a, d + 1) for a in e.args)
    return deepest


def parse(text: str, context: Context):
    """(tree, parser) for one member's mathematics."""
    parser = Parser(normalise(text), context)
    return parser.parse(), parser

# ------------------------------------------------------------------ showing


def show(e) -> str:
    """A tree as plain text, the way it was read: 'log(1)/2', 'n·b·d·2', 'e^(log(2))'."""
    if e.is_Rational:
        if e.q == 1:
            return str(e.p)
        q, twos, fives = e.q, 0, 0
        while q % 2 == 0:
            q, twos = q // 2, twos + 1
        while q % 5 == 0:
            q, fives = q // 5, fives + 1
        if q == 1:          # a decimal as written ("0.25", not "1/4")
            return format(Decimal(e.p) / Decimal(e.q), "f")
        return f"{e.p}/{e.q}"
    if e is sympy.E:
        return "e"
    if e is sympy.pi:
        return "pi"
    if e.is_Symbol:
        return e.name
    if isinstance(e, sympy.Add):
        text = show(e.args[0])
        for a in e.args[1:]:
            if _negated(a) is not None:
                text += " - " + _factor(_negated(a), sympy.Add)
            else:
                text += " + " + show(a)
        return text
    if isinstance(e, sympy.Mul):
        if _negated(e) is not None:
            return "-" + _factor(_negated(e), sympy.Mul)
        numerator = [a for a in e.args if not _reciprocal(a)]
        denominator = [a.base for a in e.args if _reciprocal(a)]
        text = "·".join(_factor(a, sympy.Mul) for a in numerator) or "1"
        for d in denominator:
            text += "/" + _factor(d, sympy.Pow)
        return text
    if isinstance(e, sympy.Pow):
        if e.exp == sympy.Rational(1, 2):
            return f"sqrt({show(e.base)})"
        if _reciprocal(e):
            return "1/" + _factor(e.base, sympy.Pow)
        exponent = show(e.exp)
        if not (e.exp.is_Atom and (e.exp.is_Symbol or e.exp.is_Integer and e.exp >= 0)):
            exponent = f"({exponent})"
        return f"{_factor(e.base, sympy.Pow)}^{exponent}"
    name = type(e).__name__.lower()
    return f"{name}({', '.join(show(a) for a in e.args)})"


def _negated(e):
    """x for a tree -1·x, else None."""
    if isinstance(e, sympy.Mul) and len(e.args) == 2 and e.args[0] == MINUS_ONE:
        return e.args[1]
    return None


def _reciprocal(e):
    return isinstance(e, sympy.Pow) and e.exp == MINUS_ONE


def _factor(e, within):
    """show(e), in parentheses where the operator `within` binds tighter."""
    text = show(e)
    loose = isinstance(e, sympy.Add) or _negated(e) is not None or \
        (within is sympy.Pow and (isinstance(e, (sympy.Mul, sympy.Pow)) or
                                  e.is_Rational and (e < 0 or e.q != 1)))
    if within is sympy.Mul and e.is_Rational and e < 0:
        loose = True
    return f"({text})" if loose else text
