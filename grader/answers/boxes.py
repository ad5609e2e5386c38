"""Answers written in the notebook's markdown boxes, "$$a = \\boxed{\\text{log 2}}$$".

box_labels() reads the master notebook once (at build time): every box
"LHS = \\boxed{\\texttt{NAME}}" gives {"name": NAME, "label": normalised LHS}.
read_boxes() finds, in a submitted notebook of any of the course's versions, the
filled-in box with each label and returns its inner LaTeX for the parser to read.

A label is the first member of the chain before the box, with spaces removed except
one after a command ("\\partial z"; "\\partial{z}" is the same label):
"\\frac{dz}{dx} = \\sinh{x} = \\boxed{...}" has the label "\\frac{dz}{dx}".
Hostile markdown is read in linear time with capped lengths.
"""
from __future__ import annotations

import re

from .parse import MAX_TEXT, matching_braces

MAX_CELL = 100_000        # characters read from one markdown cell
MAX_NOTEBOOK = 500_000    # characters read from all markdown cells together
MAX_BOXES = 5_000         # boxes read from one notebook
_MAX_LABEL = 200          # characters of a label

_BOX = re.compile(r"\\boxed\s*\{")
_MATH_START = re.compile(r"\$|\\\[|\\\(|\n\s*\n")            # where a formula can begin
_PLACEHOLDER_NAME = re.compile(r"\s*\\texttt\s*\{([^{}]*)\}\s*")
_SPACING = re.compile(r"\\[,;:! ]|\\(?:displaystyle|quad|qquad|left|right)(?![A-Za-z])")
_FRACTIONS = re.compile(r"\\[dt]frac(?![A-Za-z])")
_ONE_CHARACTER = re.compile(r"(\\[A-Za-z]+)\s*\{\s*([A-Za-z0-9])\s*\}")    # \partial{z} -> \partial z
_ONE_CHARACTER_SCRIPT = re.compile(r"([_^])\s*\{\s*([A-Za-z0-9])\s*\}")        # W_{1} -> W_1
_COMMAND_SPACE = re.compile(r"(\\[A-Za-z]+)\s+(?=[A-Za-z])")
_SEPARATOR = re.compile(r"==?|\\approx(?![A-Za-z])")
_EMPTY = re.compile(r"(?:\s|\$|\.|…|\?|\\[lc]?dots(?![A-Za-z])|\\[,;:! ]|\\quad|O\s*\(|\)|"
                    r"\\(?:text|mathrm)\s*\{|\}|\{)*")


def _markdown(notebook):
    """The markdown cells' sources, capped in size."""
    total = 0
    for cell in notebook.get("cells", []) if hasattr(notebook, "get") else []:
        if not hasattr(cell, "get") or cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source[:MAX_CELL] if isinstance(s, str))
        if not isinstance(source, str):
            continue
        source = source[:min(MAX_CELL, MAX_NOTEBOOK - total)]
        total += len(source)
        yield source
        if total >= MAX_NOTEBOOK:
            return


def _boxes(notebook):
    """(raw LHS, inner LaTeX) for every box with balanced braces, in notebook order."""
    count = 0
    for source in _markdown(notebook):
        if "\\boxed" not in source:
            continue
        pairs = matching_braces(source)
        begin = 0          # where the formula of the next box can start at the earliest
        for m in _BOX.finditer(source):
            if m.start() < begin:
                continue   # a box inside a box
            close = pairs.get(m.end() - 1)
            if close is None:
                continue
            window = max(begin, m.start() - _MAX_LABEL)
            starts = [s.end() for s in _MATH_START.finditer(source, window, m.start())]
            lhs = source[max([window] + starts):m.start()]
            yield lhs, source[m.end():close]
            begin = close + 1
            count += 1
            if count >= MAX_BOXES:
                return


def _label(lhs):
    """The first member of the chain before '= \\boxed', normalised ('' if there is none)."""
    first = _SEPARATOR.split(lhs, maxsplit=1)
    if len(first) < 2:
        return ""
    label = _FRACTIONS.sub(r"\\frac", _SPACING.sub(" ", first[0]))
    label = _ONE_CHARACTER_SCRIPT.sub(r"\1\2", _ONE_CHARACTER.sub(r"\1 \2", label))
    label = _COMMAND_SPACE.sub("\\1\x01", label)
    return re.sub(r"\s+", "", label).replace("\x01", " ")


def _filled(content):
    """Is the box filled in (not \\texttt{name}, O(\\text{TODO: fill me in}), empty or ...)?"""
    if _PLACEHOLDER_NAME.fullmatch(content) or "TODO" in content.upper():
        return False
    return _EMPTY.fullmatch(content) is None


def box_labels(reference_notebook) -> list[dict]:
    """[{"name": NAME, "label": LHS}] for the boxes LHS = \\boxed{\\texttt{NAME}} of the
    master notebook, in notebook order."""
    found = []
    for lhs, content in _boxes(reference_notebook):
        placeholder = _PLACEHOLDER_NAME.fullmatch(content)
        label = _label(lhs)
        if placeholder and label:
            found.append({"name": placeholder.group(1).replace("\\_", "_").strip(), "label": label})
    return found


def read_boxes(notebook, labels) -> dict:
    """{name: inner LaTeX of the box} for each label whose box is filled in.

    `labels` is box_labels()'s list.  When a label has several filled-in boxes, the
    last one counts.  The content is capped just above the parser's length limit.
    """
    names = {entry["label"]: entry["name"] for entry in labels}
    answers = {}
    for lhs, content in _boxes(notebook):
        name = names.get(_label(lhs))
        if name is not None and _filled(content[:MAX_TEXT + 1]):
            answers[name] = content[:MAX_TEXT + 1].strip()
    return answers
