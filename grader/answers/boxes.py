"""Answers written in the notebook's markdown: in boxes, "$$a = \\boxed{\\text{log 2}}$$",
or in display math that replaced a box, "$$a = \\log 2$$".

box_labels() reads the master notebook once (at build time): every box
"LHS = \\boxed{\\texttt{NAME}}" gives {"name": NAME, "label": normalised LHS, "heading":
the text of the nearest markdown heading above the box}.
read_boxes() finds, in a submitted notebook of any of the course's versions, the answer
for each label: {name: {"text": inner LaTeX, "where": "box" | "display math"}}.

A label is the first member of the chain before the box, with spaces removed except
one after a command ("\\partial z"; "\\partial{z}" is the same label):
"\\frac{dz}{dx} = \\sinh{x} = \\boxed{...}" has the label "\\frac{dz}{dx}".  Labels are
matched without \\text{} and the braces of a subscript: T_{run} is T_{\\text{run}}.

A filled-in box with the label is the answer (the last one, if there are several).
Without one, a display formula ($$...$$ or \\[...\\]) whose first member is exactly the
label, under the label's heading (anywhere, if the submitted notebook lost that heading),
is the answer where the box stood.  It must stand in the order of the master's boxes
(on every longest run of boxes and formulas whose labels come in that order): the
template's own formulas that start with a label ("z = \\cosh{x} = ..." above the first
box) stand out of that order and are never answers.  Two different such formulas
for one label are ambiguous: then there is none.  Inline math and prose are never read.
Hostile markdown is read in linear time with capped lengths.
"""
from __future__ import annotations

import re
from collections import Counter

from .latex import MAX_TEXT, TODO, matching_braces

MAX_CELL = 100_000        # characters read from one markdown cell
MAX_NOTEBOOK = 500_000    # characters read from all markdown cells together
MAX_BOXES = 5_000         # boxes, and display formulas, read from one notebook
_MAX_LABEL = 200          # characters of a label

_BOX = re.compile(r"\\boxed\s*\{")
_MATH_START = re.compile(r"\$|\\\[|\\\(|\n\s*\n")            # where a formula can begin
_DISPLAY = re.compile(r"\\\\|\$\$|\\\[|\\\]")                  # \\ first: "\\[2pt]" is a line break
_LINE_BREAK = re.compile(r"\\\\")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+([^\n]*)", re.MULTILINE)     # closing #s: rstrip
_PLACEHOLDER_NAME = re.compile(r"\s*\\texttt\s*\{([^{}]*)\}\s*")
_ALIGNMENT = re.compile(r"\\\\|&|\\(?:begin|end)\s*\{[^{}]*\}")
_SPACING = re.compile(r"\\[,;:! ]|\\(?:displaystyle|quad|qquad|left|right)(?![A-Za-z])")
_FRACTIONS = re.compile(r"\\[dt]frac(?![A-Za-z])")
_ONE_CHARACTER = re.compile(r"(\\[A-Za-z]+)\s*\{\s*([A-Za-z0-9])\s*\}")    # \partial{z} -> \partial z
_ONE_CHARACTER_SCRIPT = re.compile(r"([_^])\s*\{\s*([A-Za-z0-9])\s*\}")        # W_{1} -> W_1
_COMMAND_SPACE = re.compile(r"(\\[A-Za-z]+)\s+(?=[A-Za-z])")
_SEPARATOR = re.compile(r"==?|\\approx(?![A-Za-z])")
_WRAPPER = re.compile(r"\\(?:text|textrm|textit|mathrm|mathit|operatorname|mbox)\s*\{([^{}]*)\}|"
                      r"\\rm(?![A-Za-z])\s*")
_SCRIPT_GROUP = re.compile(r"([_^])\{([^{}]*)\}")
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


def _boxes(source):
    """(position, raw LHS, inner LaTeX) for every box with balanced braces in one cell."""
    if "\\boxed" not in source:
        return
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
        yield m.start(), source[max([window] + starts):m.start()], source[m.end():close]
        begin = close + 1


def _displays(source):
    """(position, line) for every line of every display block without a box, in one pass."""
    closing = None
    for m in _DISPLAY.finditer(source):
        token = m.group()
        if closing is None and token in ("$$", "\\["):
            closing, start = ("$$" if token == "$$" else "\\]"), m.end()
        elif token == closing:
            closing, block = None, source[start:m.start()]
            if "\\boxed" not in block and "\\fbox" not in block:
                for line in _LINE_BREAK.split(block):
                    yield start, line


def _formulas(notebook):
    """("box" or "display", label, content, heading) for the boxes and display formulas of
    the markdown, in notebook order (at most MAX_BOXES of each), and ("heading", "", "",
    text) for the headings."""
    heading, counts = "", {"box": 0, "display": 0}
    for source in _markdown(notebook):
        events = [(m.start(), "heading", "", " ".join(m.group(1).rstrip(" \t#").split()))
                  for m in _HEADING.finditer(source)]
        events += [(position, "box", lhs, content) for position, lhs, content in _boxes(source)]
        events += [(position, "display", line, "") for position, line in _displays(source)]
        for _, kind, text, content in sorted(events, key=lambda event: event[0]):
            if kind == "heading":
                heading = content
                yield kind, "", "", heading
                continue
            if counts[kind] >= MAX_BOXES:
                continue
            counts[kind] += 1
            if kind == "display":      # "a = value": the label, and the value
                text = _ALIGNMENT.sub(" ", text[:MAX_TEXT + _MAX_LABEL])
                parts = _SEPARATOR.split(text, maxsplit=1)
                if len(parts) < 2 or len(parts[0]) > _MAX_LABEL:
                    continue
                content = parts[1]
            yield kind, _label(text), content, heading


def _label(lhs):
    """The first member of a chain (before '= \\boxed'), normalised ('' if there is none)."""
    first = _SEPARATOR.split(lhs, maxsplit=1)
    if len(first) < 2:
        return ""
    label = _ALIGNMENT.sub(" ", first[0])
    label = _FRACTIONS.sub(r"\\frac", _SPACING.sub(" ", label))
    label = _ONE_CHARACTER_SCRIPT.sub(r"\1\2", _ONE_CHARACTER.sub(r"\1 \2", label))
    label = _COMMAND_SPACE.sub("\\1\x01", label)
    return re.sub(r"\s+", "", label).replace("\x01", " ")


def _key(label):
    """A label as it is matched: \\text{run} is run and T_{run} is T_run, so that
    "T_{run} = O(n b d^2)" answers the box "T_{\\text{run}} = \\boxed{...}"."""
    key = _WRAPPER.sub(lambda m: m.group(1) or "", label)
    return _SCRIPT_GROUP.sub(r"\1\2", key)


def _filled(content):
    """Is the box filled in (not \\texttt{name}, O(\\text{TODO: fill me in}), empty or ...)?"""
    if _PLACEHOLDER_NAME.fullmatch(content):
        return False
    return _EMPTY.fullmatch(TODO.sub("", content)) is None


def _in_order(indices, count):
    """For each entry of `indices` (label numbers 0..count-1, in notebook order): does it lie
    on every longest run of entries whose label numbers never decrease?  O(len * count)."""
    ending, starting = [0] * len(indices), [0] * len(indices)
    best = [0] * count
    for i, k in enumerate(indices):
        ending[i] = 1 + max(best[:k + 1])
        best[k] = max(best[k], ending[i])
    best = [0] * count
    for i in range(len(indices) - 1, -1, -1):
        k = indices[i]
        starting[i] = 1 + max(best[k:])
        best[k] = max(best[k], starting[i])
    longest = max(ending, default=0)
    on_one = [ending[i] + starting[i] - 1 == longest for i in range(len(indices))]
    # On every longest run: on one, and alone there at its place in the run.
    places = Counter(ending[i] for i in range(len(indices)) if on_one[i])
    return [on_one[i] and places[ending[i]] == 1 for i in range(len(indices))]


def box_labels(reference_notebook) -> list[dict]:
    """[{"name": NAME, "label": LHS, "heading": heading}] for the boxes
    LHS = \\boxed{\\texttt{NAME}} of the master notebook, in notebook order."""
    found = []
    for kind, label, content, heading in _formulas(reference_notebook):
        placeholder = _PLACEHOLDER_NAME.fullmatch(content)
        if kind == "box" and placeholder and label:
            found.append({"name": placeholder.group(1).replace("\\_", "_").strip(), "label": label,
                          "heading": heading})
    return found


def read_boxes(notebook, labels) -> dict:
    """{name: {"text": inner LaTeX, "where": "box" or "display math"}} for each label of
    `labels` (box_labels()'s list) answered in the markdown: see the module's docstring.
    The text is capped just above the parser's length limit."""
    number = {_key(entry["label"]): k for k, entry in enumerate(labels)}
    formulas, headings = [], set()
    for kind, label, content, heading in _formulas(notebook):
        headings.add(heading)
        k = number.get(_key(label)) if label else None
        if k is not None:
            formulas.append((kind, k, content[:MAX_TEXT + 1].strip(), heading))
    wanted = [" ".join(str(entry.get("heading") or "").split()) for entry in labels]
    # Boxes, and display formulas under their label's heading (or anywhere, if it is gone).
    kept = [(kind, k, text) for kind, k, text, heading in formulas
            if kind == "box" or heading == wanted[k] or not wanted[k] or wanted[k] not in headings]
    placed = _in_order([k for _, k, _ in kept], len(labels))
    boxes, displays = {}, {}
    for (kind, k, text), in_place in zip(kept, placed):
        if not _filled(text):
            continue
        if kind == "box":
            boxes[k] = text
        elif in_place:
            displays.setdefault(k, {}).setdefault(re.sub(r"\s+", "", text), text)
    answers = {}
    for k, entry in enumerate(labels):
        if k in boxes:
            answers[entry["name"]] = {"text": boxes[k], "where": "box"}
        elif len(displays.get(k, ())) == 1:
            answers[entry["name"]] = {"text": next(iter(displays[k].values())), "where": "display math"}
    return answers
