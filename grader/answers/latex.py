"""LaTeX text as the answer reader and the box reader both scan it, without sympy (the box
reader runs before any answer is parsed)."""
from __future__ import annotations

import re

MAX_TEXT = 2_000      # characters in an answer, prose included, whitespace not counted

BRACE = re.compile(r"\\.|[{}]", re.DOTALL)
TODO = re.compile(r"TODO[^{}()$]*", re.IGNORECASE)   # a placeholder's "TODO ..." words


def matching_braces(s: str) -> dict:
    """{position of '{': position of its '}'} in one linear pass; \\{ and \\} are skipped."""
    pairs, stack = {}, []
    for m in BRACE.finditer(s):
        c = m.group()
        if c == "{":
            stack.append(m.start())
        elif c == "}" and stack:
            pairs[stack.pop()] = m.start()
    return pairs
