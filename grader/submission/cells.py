"""A submitted notebook, sorted into the cells grading may run.

Grading never runs a submission's "Do not change" cells or Otter's own cells: the provided code
comes from the reference (`homework.json`), and edits to protected cells are only reported, and
only when they change the code's meaning (whitespace, comments and formatting are not edits). Of
the student's own cells, a check runs just those that define the names it needs, plus whatever
those cells use in turn, in notebook order. So a notebook still grades when a Colab badge cell was
added on top, when the `# MAIN CODE` marker was deleted or duplicated, or when a helper lives in
a cell of its own; and a broken or hanging cell only costs the checks that need it. Cells run
in notebook order, the provided code in its place, as "Restart & Run All" runs them: a cell above
the provided code does not see what the provided code defines. An answer the notebook leaves
blank is read from its markdown box (or display math where the box stood) when the student
filled that in instead.

All of it is linear in the notebook's size and stops at the submission's deadline.
"""

import ast
import builtins
import functools
import re
import symtable
import time
from dataclasses import dataclass, field

from grader.authoring.errors import MAIN_MARK, cell_name, cell_source, is_protected
from grader.verdicts import Flag

MAX_CELLS = 3_000          # code cells analysed; a notebook with more is cut there
MAX_CELL_CHARS = 1_000_000


@dataclass
class Cell:
    number: int      # 1-based position among the notebook's cells
    source: str
    binds: set = field(default_factory=set)
    uses: set = field(default_factory=set)
    blanks: set = field(default_factory=set)   # names this cell leaves as `...`
    label_text: str = ""
    name_text: str = ""

    @property
    def label(self):
        """The file name its code is compiled under."""
        if self.label_text:
            return self.label_text
        first = next((line.strip() for line in self.source.splitlines() if line.strip()), "")
        return f"<cell {self.number}: {first[:40]}>"

    @property
    def name(self):
        """The cell as the student knows it, in messages."""
        return self.name_text or cell_name(self.source)


@dataclass
class Submission:
    cells: list           # the student's code cells, in notebook order
    messages: list        # what the student should know about how the notebook was read
    notes: list           # what only course staff need to know
    flags: list = field(default_factory=list)   # (Flag, detail) for staff
    provided_at: int = 0  # the provided code runs before the student's cells numbered above

    def cells_for(self, names):
        """The cells that define `names`, closed over the names those cells use."""
        binders = {}
        for i, cell in enumerate(self.cells):
            for name in cell.binds:
                binders.setdefault(name, []).append(i)
        wanted, seen, chosen = list(names), set(names), set()
        while wanted:
            for i in binders.get(wanted.pop(), ()):
                if i not in chosen:
                    chosen.add(i)
                    fresh = self.cells[i].uses - seen
                    seen |= fresh
                    wanted += fresh
        return [self.cells[i] for i in sorted(chosen)]


def from_notebook(notebook, homework, deadline=None, boxes=None):
    """Sort the code cells of `notebook`; `homework` is the reference's homework.json, `boxes`
    the answers read from the notebook's markdown (grader.answers.boxes.read_boxes)."""
    protected, originals = _protected(tuple((c["source"], c["label"])
                                            for c in homework["protected"]))
    otter_cells = _meanings(tuple(homework.get("otter_cells", [])))
    cells, seen_protected, main_cells, messages, flags = [], set(), 0, [], []
    provided_at = None
    code_cells = [(n, c) for n, c in enumerate(notebook["cells"], start=1)
                  if c.get("cell_type") == "code"]
    if len(code_cells) > MAX_CELLS:
        flags.append((Flag.REVIEW, f"{len(code_cells)} code cells; only the first {MAX_CELLS} "
                                   "were read"))
        code_cells = code_cells[:MAX_CELLS]
    for number, cell in code_cells:
        if deadline is not None and time.monotonic() > deadline:
            flags.append((Flag.TIMEOUT, f"reading the notebook stopped at cell {number}"))
            break
        source = cell_source(cell)[:MAX_CELL_CHARS]
        if _is_otter_cell(source) or ("grader" in source and meaning(source) in otter_cells):
            continue
        if is_protected(source):
            seen_protected.add(originals.get(source) or meaning(source))
            provided_at = number if provided_at is None else provided_at
            continue
        main_cells += source.lstrip().startswith(MAIN_MARK)
        cells.append(_analyse(Cell(number, _without_magics(source))))
    for key, label in protected.items():
        if key not in seen_protected:
            messages.append(f"The \"Do not change\" cell under '{label}' is missing or was "
                            "edited; grading used the original cell.")
            flags.append((Flag.EDITED, f"the \"Do not change\" cell under '{label}'"))
    if main_cells != 1:
        messages.append(f"The notebook has {main_cells} cells starting with '{MAIN_MARK}' (it "
                        "should have one); the engine was taken from the cells that define its "
                        "classes and functions, in notebook order.")
    _answers_from_boxes(cells, homework.get("answers", []), boxes or {}, flags,
                        len(notebook["cells"]))
    redefined = sorted(set().union(*(c.binds for c in cells)) & set(homework["provided_names"]))
    notes = ["Student cells redefine provided names: " + ", ".join(redefined) + "."] \
        if redefined else []
    return Submission(cells, messages, notes, flags, provided_at or 0)


@functools.lru_cache(maxsize=4)
def _protected(cells):
    """({meaning: label}, {source: meaning}) of a homework's protected cells, computed once."""
    protected, originals = {}, {}
    for source, label in cells:
        key = meaning(source)
        protected.setdefault(key, label)
        originals[source] = key
    return protected, originals


@functools.lru_cache(maxsize=4)
def _meanings(sources):
    return {meaning(source) for source in sources}


def meaning(source):
    """What a cell's code means, without its whitespace (in strings too: a docstring's spacing
    means nothing), comments and formatting."""
    try:
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                node.value = " ".join(node.value.split())
        return ast.dump(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return " ".join(source.split())


def _answers_from_boxes(cells, answers, boxes, flags, after):
    """Append a cell assigning the answer read from the markdown for every answer no cell
    gives (missing, or left as `...`); a cell's answer always wins over its box, a box over
    display math. The cells are numbered `after` the notebook's, so that they run last."""
    state = {}
    for cell in cells:
        for name in cell.binds & set(answers):
            state[name] = "blank" if name in cell.blanks else "given"
    read, unanswered = {Flag.ANSWERS_FROM_BOXES: [], Flag.ANSWERS_FROM_DISPLAY_MATH: []}, []
    for name in answers:
        if state.get(name) == "given":
            continue
        found = boxes.get(name)
        if found is None:
            unanswered.append(name)
            continue
        where = "box" if found["where"] == "box" else "display math"
        cell = Cell(after + len(cells) + 1, f"{name} = {found['text']!r}",
                    label_text=f"<{where} of {name}>", name_text=f"the {where} of {name}")
        cell.binds = {name}
        cells.append(cell)
        read[Flag.ANSWERS_FROM_BOXES if where == "box" else Flag.ANSWERS_FROM_DISPLAY_MATH] \
            .append(name)
    for flag, names in read.items():
        if names:
            flags.append((flag, ", ".join(names)))
    if unanswered:
        flags.append((Flag.NO_ANSWER, ", ".join(unanswered)))


def _is_otter_cell(source):
    lines = [l.strip() for l in source.splitlines() if l.strip() and not l.strip().startswith("#")]
    if any("otter.Notebook(" in line for line in lines):
        return True
    return bool(lines) and all(re.match(r"grader\.(check|check_all|export)\(", l) for l in lines)


def _without_magics(source):
    """IPython magics and shell lines cannot run outside a kernel: keep them as `pass`."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        lines[0] = "pass"
    return "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in lines)


_BUILTINS = set(dir(builtins))


def _analyse(cell):
    """Top-level names a cell binds, the global names it reads, and the names it leaves `...`."""
    try:
        tree = ast.parse(cell.source)
        cell.binds = _bound(tree.body)
        cell.uses = _global_uses(symtable.symtable(cell.source, cell.label, "exec")) - _BUILTINS
        cell.blanks = {t.id for node in tree.body if isinstance(node, ast.Assign)
                       and isinstance(node.value, ast.Constant) and node.value.value is ...
                       for t in node.targets if isinstance(t, ast.Name)}
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pattern = r"^(?:class|def)\s+(\w+)|^(\w+)\s*="
        cell.binds = {a or b for a, b in re.findall(pattern, cell.source, re.M)}
    return cell


def _global_uses(table):
    """Module-level names a cell reads, at top level or from inside its functions and classes
    (a function's own locals and parameters are not module names)."""
    uses, tables = set(), [table]
    while tables:
        table = tables.pop()
        uses |= {s.get_name() for s in table.get_symbols()
                 if s.is_referenced() and (table.get_type() == "module" or s.is_global())}
        tables += table.get_children()
    return uses


def _bound(statements):
    names, pending = set(), list(statements)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With)):
            targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
            targets += [item.optional_vars for item in getattr(node, "items", [])]
            names |= {n.id for t in targets if t is not None for n in ast.walk(t)
                      if isinstance(n, ast.Name)}
        for block in ("body", "orelse", "finalbody", "handlers"):
            pending += getattr(node, block, []) or []
    return names
