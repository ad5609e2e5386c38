"""A static scan of the student's cells for what an engine has no business using.

It decides nothing: what it finds goes to course staff as "review" flags (staff notes and
scores.csv). It complements the sandbox, which refuses these things at run time, by showing staff
the attempt even where it failed quietly.
"""

import ast

# What is looked for: attribute or module names, and what staff are told.
SUSPECT = {
    "_getframe": "frame access", "currentframe": "frame access", "tb_frame": "frame access",
    "f_back": "frame access", "f_locals": "frame access", "f_globals": "frame access",
    "gi_frame": "frame access", "cr_frame": "frame access", "__closure__": "closure access",
    "__globals__": "function globals", "__code__": "code objects",
    "__subclasses__": "type internals",
    "get_objects": "garbage collector", "get_referrers": "garbage collector",
    "get_referents": "garbage collector", "settrace": "tracing", "setprofile": "tracing",
    "ctypes": "native code", "_posixsubprocess": "processes", "subprocess": "processes",
    "system": "processes", "popen": "processes", "fork": "processes", "spawnv": "processes",
    "posix_spawn": "processes", "execv": "processes", "socket": "sockets",
    "from_file": "native file access", "fdopen": "file descriptors", "dup2": "file descriptors",
    "autograd": "torch autograd", "enable_grad": "torch autograd",
    "set_grad_enabled": "torch autograd", "requires_grad": "torch autograd",
    "requires_grad_": "torch autograd", "grad_fn": "torch autograd", "forward_ad": "torch autograd",
    "functorch": "torch autograd", "func": "torch autograd (torch.func)",
    "sympy": "symbolic algebra", "otter": "the grader", "grader": "the grader",
    "builtins": "builtins", "modules": "module table", "importlib": "imports",
    "threading": "threads", "Thread": "threads", "_thread": "threads",
    "__import__": "imports", "environ": "environment",
}
MAX_FLAGS = 20
IMPORTED_ONLY = {"grader", "otter"}


def review(cells):
    """[("review", detail)] for the suspect names used in `cells` (grader.submission Cells)."""
    found = {}
    for cell in cells:
        for name in _names(cell.source):
            if name in SUSPECT and (name != "func" or "torch" in cell.source):
                found.setdefault(SUSPECT[name], set()).add(f"{name} in cell {cell.number} "
                                                           f"({cell.name})")
    return [("review", f"uses {what}: " + ", ".join(sorted(where)[:5]))
            for what, where in sorted(found.items())][:MAX_FLAGS]


def _names(source):
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and node.id not in IMPORTED_ONLY:
            names.add(node.id)  # `grader` is the notebook's otter.Notebook: only imports count
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            names |= {part for m in modules for part in m.split(".") if part}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.isidentifier():
            names.add(node.value)  # getattr(obj, "tb_frame") and the like
    return names
