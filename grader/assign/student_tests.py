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
  probes wherever Otter read the test from (a notebook's metadata or a file);
- a few lines that make Otter show a failed check as the grader writes it: the message alone
  (no "Error at line N" and no quoted test source), escaped in the notebook's HTML output.

The result is an ordinary Otter exception-based test file: Otter stores it in the notebook's
metadata, or writes it to tests/ where a tests folder is needed (Colab).
"""

import ast
import copy
import hashlib
import re
from pathlib import Path

PACKAGE = "grader"
PRIVATE = "_hw_public_checks"


class BundleError(ValueError):
    """A public test cannot be made self-contained."""


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


class PackageSources:
    """The grader package's sources under `root`, read as the bundles need them: each module
    parsed once for all the test files of a build."""

    def __init__(self, root):
        self.root = Path(root)
        self.modules = {}

    def path(self, module):
        """The source file of `module` (dotted, starting with "grader"), or None."""
        base = self.root.joinpath(*module.split("."))
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py")
        if (base / "__init__.py").is_file():
            return base / "__init__.py"
        return None

    def absolute(self, module, node):
        """The absolute module an ImportFrom node in `module` refers to."""
        if not node.level:
            return node.module
        base = module.split(".")
        path = self.path(module)
        if path is None or path.name != "__init__.py":
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
        return ".".join(base + ([node.module] if node.module else []))

    def imports_of(self, module, node):
        """[(node, target module, [imported names])] for every import of ours inside `node`."""
        found = []
        for item in ast.walk(node):
            if isinstance(item, ast.ImportFrom):
                target = self.absolute(module, item) if module else item.module
                if target and _ours(target):
                    found.append((item, target, [a.name for a in item.names]))
            elif isinstance(item, ast.Import):
                for alias in item.names:
                    if _ours(alias.name):
                        raise BundleError(f"`import {alias.name}` in {module}: use "
                                          "`from ... import ...` so the helper can be inlined")
        return found

    def dependency(self, target, name):
        """`from target import name`: a definition of `target`, or a whole submodule."""
        if self.path(f"{target}.{name}") is not None:
            return (f"{target}.{name}", "*")
        return (target, name)

    def module(self, name):
        if name not in self.modules:
            path = self.path(name)
            if path is None:
                raise BundleError(f"a public test needs {name}, which is not in {self.root}")
            tree = _strip_docstrings(ast.parse(path.read_text(), str(path)))
            self.modules[name] = (tree.body, [_binds(s) for s in tree.body],
                                  [_uses(s) for s in tree.body])
        return self.modules[name]

    def collect(self, needs):
        """The reduced sources of every grader module reached from `needs` [(module, name)]:
        {module: ast.Module of the kept top-level statements}."""
        kept, whole, work = {}, set(), list(needs)
        while work:
            name, symbol = work.pop()
            statements, binds, uses = self.module(name)
            kept.setdefault(name, set())
            if symbol == "*":
                if name in whole:
                    continue
                whole.add(name)
                indices = range(len(statements))
            else:
                indices = [i for i, bound in enumerate(binds) if symbol in bound]
                if not indices:
                    if self.path(f"{name}.{symbol}") is not None:
                        work.append((f"{name}.{symbol}", "*"))
                        continue
                    raise BundleError(f"{name} defines no {symbol!r}")
            # statements that bind nothing (registrations, checks) always run
            indices = list(indices) + [i for i, bound in enumerate(binds) if not bound]
            bound_here = set().union(*binds) if binds else set()
            for i in indices:
                if i in kept[name]:
                    continue
                kept[name].add(i)
                for used in uses[i] & bound_here:
                    work.append((name, used))
                for _, target, names in self.imports_of(name, statements[i]):
                    work.extend(self.dependency(target, n) for n in names)
        return {name: ast.Module(body=[s for i, s in enumerate(self.modules[name][0])
                                       if i in indices], type_ignores=[])
                for name, indices in kept.items()}

    def order(self, reduced):
        """Modules in an order where each module's top-level imports of ours are loaded."""
        deps = {name: {self.dependency(target, n)[0] for statement in tree.body
                       if isinstance(statement, ast.ImportFrom)
                       for _, target, names in self.imports_of(name, statement) for n in names}
                & set(reduced) - {name} for name, tree in reduced.items()}
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

    def source(self, name, tree, private):
        tree = _Rewrite(self, name, private).visit(copy.deepcopy(tree))  # the parse is shared
        future = [s for s in tree.body
                  if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
        rest = [s for s in tree.body if s not in future]
        return ast.unparse(ast.fix_missing_locations(ast.Module(body=future + rest,
                                                                type_ignores=[]))) + "\n"


class _Rewrite(ast.NodeTransformer):
    """`from grader.x import y` (or a relative import) -> `from <private>.x import y`."""

    def __init__(self, package, module, private):
        self.package, self.module, self.private = package, module, private

    def visit_ImportFrom(self, node):
        target = self.package.absolute(self.module, node) if self.module else node.module
        if target and _ours(target):
            return ast.copy_location(ast.ImportFrom(
                module=self.private + target[len(PACKAGE):], names=node.names, level=0), node)
        return node


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


def _show_failures_plainly():
    """Otter shows a failed check as the grader wrote it: the message alone, escaped in HTML."""
    import html
    from textwrap import indent
    try:
        from otter.test_files.abstract_test import TestFile
        from otter.test_files.exception_test import ExceptionTestFile
    except ImportError:
        return
    if getattr(ExceptionTestFile, "_shown_plainly", False):
        return
    original = ExceptionTestFile._generate_error_message

    def message(self, excp, context=0):
        if type(excp).__name__ == "CheckFailed" and hasattr(excp, "message"):
            return excp.message
        return original(self, excp, context)

    def as_html(self):
        name = html.escape(self.name)
        if self.passed_all:
            return f"<p><strong><code>{name}</code></strong> passed!</p>"
        parts = [f"<p><strong style='color: red;'><code>{name}</code> results:</strong></p>"]
        for result in self.test_case_results:
            parts.append(f"<p><strong><code>{html.escape(str(result.test_case.name))}</code> "
                         "result:</strong></p>")
            parts.append("<pre style='white-space: pre-wrap;'>"
                         f"{html.escape(indent(result.message or '', '    '))}</pre>")
        return "".join(parts)

    ExceptionTestFile._generate_error_message = message
    TestFile._repr_html_ = as_html
    ExceptionTestFile._shown_plainly = True


def _define_tests(source, line, filename, scope):
    """Compile the tests from text that inspect.getsource can read (the probes are sent as
    source), keeping the line numbers they have in this file."""
    import linecache
    text = "\\n" * (line - 1) + source
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), scope)
'''


def _literal(text):
    """`text` as a string literal: raw, so that it reads as the code it is, where that is exact;
    else repr()."""
    raw = "r'''" + text + "'''"
    if "'''" in text or text.endswith("\\") or "\r" in text or ast.literal_eval(raw) != text:
        return repr(text)
    return raw


def self_contained(test_source, package):
    """A public test file (Otter's exception-based format) that needs nothing but Otter and
    torch (sympy and mpmath come with torch); `package`: the PackageSources it draws on."""
    tree = ast.parse(test_source)
    header, tests = [], []
    for statement in tree.body:
        is_test = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
        (tests if is_test else header).append(statement)
    if any(package.imports_of("", s) for s in header):
        raise BundleError("a public test file imports the grader package at its top level")
    lines = test_source.splitlines()
    first = min(min([d.lineno for d in s.decorator_list] + [s.lineno]) for s in tests)
    test_text = "\n".join(lines[first - 1:]) + "\n"
    head_text = "\n".join(lines[:first - 1]).rstrip() + "\n"

    needs = sorted({(target, n) for s in tests for _, target, names in package.imports_of("", s)
                    for n in names})
    reduced = package.collect(needs) if needs else {}
    names = package.order(reduced)
    digest = hashlib.sha1()
    sources = []
    for name in names:
        source = package.source(name, reduced[name], "@")
        digest.update(f"{name}\n{source}".encode())
        sources.append((name, source))
    private = f"{PRIVATE}_{digest.hexdigest()[:10]}"
    sources = [(name[len(PACKAGE) + 1:], source.replace("from @", "from " + private))
               for name, source in sources]
    files = [str(package.path(n).relative_to(package.root)) for n in names]
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
        parts.append(f"    ({module!r}, {_literal(source)}),")
    parts.append("])")
    parts.append("_show_failures_plainly()")
    parts.append("")
    before = "\n".join(parts) + "\n"
    line = before.count("\n") + 1  # the line of `_TESTS = r'''`
    text = (before + "_TESTS = " + _literal("\n" + test_text) + "\n"
            + f"_define_tests(_TESTS, {line}, {('<public tests ' + name + '>')!r}, globals())\n")
    return text
