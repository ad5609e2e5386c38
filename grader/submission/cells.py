"""A submitted notebook, sorted into the cells grading may run.

Grading never runs a submission's "Do not change" cells or Otter's own cells: the provided code
comes from the reference (`homework.json`), and edits to protected cells are only reported. Of
the student's own cells, a check runs just those that define the names it needs, plus whatever
those cells use in turn, in notebook order. So a notebook still grades when a Colab badge cell was
added on top, when the `# MAIN CODE` marker was deleted or duplicated, or when a helper lives in
a cell of its own; and a broken or hanging cell only costs the checks that need it.
"""

import ast
import builtins
import re
import symtable
from dataclasses import dataclass, field

PROTECTED_MARK = "# Do not change the code in this cell."
MAIN_MARK = "# MAIN CODE"


@dataclass
class Cell:
    number: int      # 1-based position among the notebook's cells
    source: str
    binds: set = field(default_factory=set)
    uses: set = field(default_factory=set)

    @property
    def label(self):
        first = next((line.strip() for line in self.source.splitlines() if line.strip()), "")
        return f"<cell {self.number}: {first[:40]}>"


@dataclass
class Submission:
    cells: list           # the student's code cells, in notebook order
    messages: list        # what the student should know about how the notebook was read
    notes: list           # what only course staff need to know

    def cells_for(self, names):
        """The cells that define `names`, closed over the names those cells use."""
        wanted, chosen = set(names), set()
        changed = True
        while changed:
            changed = False
            for i, cell in enumerate(self.cells):
                if i not in chosen and cell.binds & wanted:
                    chosen.add(i)
                    wanted |= cell.uses
                    changed = True
        return [self.cells[i] for i in sorted(chosen)]


def from_notebook(notebook, homework):
    """Sort the code cells of `notebook`; `homework` is the reference's homework.json."""
    protected = {cell["source"].strip(): cell["label"] for cell in homework["protected"]}
    cells, seen_protected, main_cells, messages = [], set(), 0, []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        if _is_otter_cell(source):
            continue
        if source.strip().startswith(PROTECTED_MARK):
            if source.strip() in protected:
                seen_protected.add(source.strip())
            continue
        main_cells += source.lstrip().startswith(MAIN_MARK)
        cells.append(_analyse(Cell(number, _without_magics(source))))
    for source, label in protected.items():
        if source not in seen_protected:
            messages.append(f"The \"Do not change\" cell under '{label}' is missing or was "
                            "edited; grading used the original cell.")
    if main_cells != 1:
        messages.append(f"The notebook has {main_cells} cells starting with '{MAIN_MARK}' (it "
                        "should have one); the engine was taken from the cells that define its "
                        "classes and functions, in notebook order.")
    redefined = sorted(set().union(*(c.binds for c in cells)) & set(homework["provided_names"]))
    notes = ["Student cells redefine provided names: " + ", ".join(redefined) + "."] \
        if redefined else []
    return Submission(cells, messages, notes)


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


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
    """Top-level names a cell binds and the global names it reads."""
    try:
        tree = ast.parse(cell.source)
    except (SyntaxError, ValueError):
        pattern = r"^(?:class|def)\s+(\w+)|^(\w+)\s*="
        cell.binds = {a or b for a, b in re.findall(pattern, cell.source, re.M)}
        return cell
    cell.binds = _bound(tree.body)
    cell.uses = _global_uses(symtable.symtable(cell.source, cell.label, "exec")) - _BUILTINS
    return cell


def _global_uses(table):
    """Module-level names a cell reads, at top level or from inside its functions and classes
    (a function's own locals and parameters are not module names)."""
    uses = {s.get_name() for s in table.get_symbols()
            if s.is_referenced() and (table.get_type() == "module" or s.is_global())}
    for child in table.get_children():
        uses |= _global_uses(child)
    return uses


def _bound(statements):
    names = set()
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With)):
            targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
            targets += [item.optional_vars for item in getattr(node, "items", [])]
            names |= {n.id for t in targets if t is not None for n in ast.walk(t)
                      if isinstance(n, ast.Name)}
        for block in ("body", "orelse", "finalbody", "handlers"):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names |= _bound(getattr(node, block, []) or [])
    return names
