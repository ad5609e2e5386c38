"""Self-contained public tests for the student notebook.

A public test written in the reference notebook imports its helpers from this package
(`from grader.authoring.cases import case`, `from grader.answers import readable_value`, ...).
Students do not have this package, so the build turns each public test file Otter Assign wrote into
one that carries what it needs:

- the grader modules the test imports, transitively, reduced to the top-level definitions that are
  actually reached (docstrings and comments dropped), each kept as source text;
- a loader that runs those sources as modules under a private name (`_hw_public_checks_<hash>`),
  registered in `sys.modules` only, so nothing named `grader` is imported or assigned anywhere (in
  the notebook the global `grader` is the `otter.Notebook`);
- the test functions themselves, with `from grader.x import y` rewritten to the private name.
  They are compiled from a string registered in `linecache`, so `inspect.getsource` finds the
  probes wherever Otter read the test from (a notebook's metadata or a file), and with the line
  numbers they have in the test file, so Otter's failure messages quote the right line.

The result is an ordinary Otter exception-based test file: Otter stores it in the notebook's
metadata, or writes it to tests/ where a tests folder is needed (Colab).
"""

import ast
import hashlib
import re
from pathlib import Path

PACKAGE = "grader"
PRIVATE = "_hw_public_checks"


class BundleError(ValueError):
    """A public test cannot be made self-contained."""


# ------------------------------------------------------------------ grader modules


def _module_path(root, module):
    """The source file of `module` (dotted, starting with "grader") under `root`."""
    parts = module.split(".")
    base = Path(root).joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _is_package(root, module):
    return (Path(root).joinpath(*module.split(".")) / "__init__.py").is_file()


def _absolute(module, node):
    """The absolute module an ImportFrom node in `module` refers to."""
    if not node.level:
        return node.module
    base = module.split(".")
    if not _is_package_name(module):
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


_packages = set()


def _is_package_name(module):
    return module in _packages


def _ours(name):
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _strip_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body.pop(0)
                if not body:
                    body.append(ast.Pass())
    return tree


def _binds(statement):
    """Names a top-level statement binds."""
    names = set()
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
        return set()  # kept wherever the module is
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _uses(statement):
    return {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)}


class _Module:
    def __init__(self, root, name):
        self.name = name
        path = _module_path(root, name)
        if path is None:
            raise BundleError(f"a public test needs {name}, which is not in {root}")
        if path.name == "__init__.py":
            _packages.add(name)
        self.path = path
        self.tree = _strip_docstrings(ast.parse(path.read_text(), str(path)))
        self.statements = self.tree.body
        self.binds = [_binds(s) for s in self.statements]
        self.uses = [_uses(s) for s in self.statements]
        self.bound = set().union(*self.binds) if self.binds else set()


def _imports_of(module_name, node):
    """[(target module, [imported names])] for every import of our package inside `node`."""
    found = []
    for item in ast.walk(node):
        if isinstance(item, ast.ImportFrom):
            target = _absolute(module_name, item)
            if target and _ours(target):
                found.append((item, target, [a.name for a in item.names]))
        elif isinstance(item, ast.Import):
            for alias in item.names:
                if _ours(alias.name):
                    raise BundleError(f"`import {alias.name}` in {module_name}: use "
                                      "`from ... import ...` so the helper can be inlined")
    return found


def _dependency(root, target, name):
    """`from target import name`: a definition of `target`, or a whole submodule."""
    if _module_path(root, f"{target}.{name}") is not None:
        return (f"{target}.{name}", "*")
    return (target, name)


def collect(root, needs):
    """The reduced sources of every grader module reached from `needs` [(module, name)].

    Returns {module: ast.Module of the kept top-level statements}, in no particular order.
    """
    modules, kept, whole = {}, {}, set()
    work = list(needs)

    def module(name):
        if name not in modules:
            modules[name] = _Module(root, name)
            kept[name] = set()
        return modules[name]

    while work:
        name, symbol = work.pop()
        info = module(name)
        if symbol == "*":
            if name in whole:
                continue
            whole.add(name)
            indices = range(len(info.statements))
        else:
            indices = [i for i, binds in enumerate(info.binds) if symbol in binds]
            if not indices:
                if _module_path(root, f"{name}.{symbol}") is not None:
                    work.append((f"{name}.{symbol}", "*"))
                    continue
                raise BundleError(f"{name} defines no {symbol!r}")
        # statements that bind nothing (registrations, checks) always run
        indices = list(indices) + [i for i, b in enumerate(info.binds) if not b]
        for i in indices:
            if i in kept[name]:
                continue
            kept[name].add(i)
            statement = info.statements[i]
            for used in info.uses[i] & info.bound:
                work.append((name, used))
            for _, target, names in _imports_of(name, statement):
                work.extend(_dependency(root, target, n) for n in names)
    reduced = {}
    for name, info in modules.items():
        body = [s for i, s in enumerate(info.statements) if i in kept[name]]
        reduced[name] = ast.Module(body=body, type_ignores=[])
    return reduced


_root = [None]


def _order(reduced):
    """Modules in an order where each module's top-level imports of ours are already loaded."""
    deps = {}
    for name, tree in reduced.items():
        deps[name] = {module for statement in tree.body
                      if isinstance(statement, ast.ImportFrom)
                      for _, target, names in _imports_of(name, statement)
                      for module in {_dependency(_root[0], target, n)[0] for n in names}
                      if module in reduced and module != name}
    ordered, seen = [], set()

    def visit(name, path=()):
        if name in seen:
            return
        if name in path:
            raise BundleError(f"circular imports between {', '.join(path)}")
        for dep in sorted(deps[name]):
            visit(dep, path + (name,))
        seen.add(name)
        ordered.append(name)

    for name in sorted(reduced):
        visit(name)
    return ordered


class _Rewrite(ast.NodeTransformer):
    """`from grader.x import y` (or a relative import) -> `from <private>.x import y`."""

    def __init__(self, module, private):
        self.module, self.private = module, private

    def visit_ImportFrom(self, node):
        target = _absolute(self.module, node) if self.module else node.module
        if target and _ours(target):
            return ast.copy_location(ast.ImportFrom(
                module=self.private + target[len(PACKAGE):], names=node.names, level=0), node)
        return node


def _module_source(name, tree, private):
    tree = _Rewrite(name, private).visit(tree)
    future = [s for s in tree.body if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
    rest = [s for s in tree.body if s not in future]
    return ast.unparse(ast.fix_missing_locations(ast.Module(body=future + rest,
                                                            type_ignores=[]))) + "\n"


# ------------------------------------------------------------------ test files

_IMPORT_LINE = re.compile(r"^(\s*from\s+)" + PACKAGE + r"((?:\.\w+)*\s+import\b)", re.M)

LOADER = '''\
def _load_helpers(package, modules):
    """Run the helper sources below as modules named package.<name> (once per kernel)."""
    import sys, types
    if package in sys.modules:
        return
    names = {""} | {n for n, _ in modules}
    names |= {n.rsplit(".", i)[0] for n in list(names) for i in range(1, n.count(".") + 1)}
    for name in sorted(names, key=lambda n: (n.count("."), n)):
        module = types.ModuleType(package + ("." + name if name else ""))
        module.__path__ = []
        sys.modules[module.__name__] = module
        if name:
            parent, _, last = module.__name__.rpartition(".")
            setattr(sys.modules[parent], last, module)
    for name, source in modules:
        where = "<public tests>/grader/" + name.replace(".", "/") + ".py"
        exec(compile(source, where, "exec"), sys.modules[package + "." + name].__dict__)


def _define_tests(source, line, filename, scope):
    """Compile the tests from text that inspect.getsource can read (the probes are sent as
    source), keeping the line numbers they have in this file."""
    import linecache
    text = "\\n" * (line - 1) + source
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), scope)
'''


def _literal(text, what):
    if "'''" in text or text.endswith("\\") or "\r" in text:
        raise BundleError(f"{what} cannot be written as a raw string literal")
    return "r'''" + text + "'''"


def self_contained(test_source, root):
    """A public test file (Otter's exception-based format) that needs nothing but Otter and
    torch (sympy and mpmath come with torch)."""
    tree = ast.parse(test_source)
    header, tests = [], []
    for statement in tree.body:
        is_test = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
        (tests if is_test else header).append(statement)
    if any(_imports_of("", s) for s in header):
        raise BundleError("a public test file imports the grader package at its top level")
    lines = test_source.splitlines()
    first = min(min([d.lineno for d in s.decorator_list] + [s.lineno]) for s in tests)
    test_text = "\n".join(lines[first - 1:]) + "\n"
    head_text = "\n".join(lines[:first - 1]).rstrip() + "\n"

    needs = sorted({(target, n) for s in tests for _, target, names in _imports_of("", s)
                    for n in names})
    reduced = collect(root, needs) if needs else {}
    _root[0] = root
    names = _order(reduced)
    digest = hashlib.sha1()
    sources = []
    for name in names:
        source = _module_source(name, reduced[name], "@")
        digest.update(f"{name}\n{source}".encode())
        sources.append((name, source))
    private = f"{PRIVATE}_{digest.hexdigest()[:10]}"
    sources = [(name[len(PACKAGE) + 1:], source.replace("from @", "from " + private))
               for name, source in sources]
    files = [str(_module_path(root, n).relative_to(Path(root))) for n in names]
    test_text = _IMPORT_LINE.sub(lambda m: m.group(1) + private + m.group(2), test_text)
    left = [n for n in ast.walk(ast.parse(test_text))
            if isinstance(n, ast.ImportFrom) and n.module and _ours(n.module)]
    if left:
        raise BundleError("a public test imports the grader package in a form the build cannot "
                          f"rewrite (line {left[0].lineno})")

    name = next((s.value.value for s in header if isinstance(s, ast.Assign)
                 and getattr(s.targets[0], "id", None) == "name"), "test")
    parts = [head_text, "",
             "# The helpers below are generated from the course's grader package ("
             + ", ".join(files)
             + "),", "# reduced to what these tests use.", LOADER]
    parts.append(f"_load_helpers({private!r}, [")
    for module, source in sources:
        parts.append(f"    ({module!r}, {_literal(source, module)}),")
    parts.append("])")
    parts.append("")
    before = "\n".join(parts) + "\n"
    line = before.count("\n") + 1  # the line of `_TESTS = r'''`
    text = (before + "_TESTS = " + _literal("\n" + test_text, "the tests") + "\n"
            + f"_define_tests(_TESTS, {line}, {('<public tests ' + name + '>')!r}, globals())\n")
    return text
