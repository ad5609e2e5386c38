"""Graphs written as tiny programs, built twice: from the student's classes and from torch.

A program is a few assignments such as ``a = Exp(x)`` / ``z = Mean(Exp(-a), a)``; the last one is
the output. A probe builds it with the student's node classes (`build`); the judge runs the same
text on torch tensors and lets torch autograd compute every node's expected result and gradient
(`reference`, `derivatives`). Declared nodes (grader.authoring.declared) are built from the same
specs on both sides. One text, so the graph checked and the graph expected cannot drift.
Programs are written by course staff, never by students.
"""

import ast

from grader.authoring import declared

TORCH_OPS = {
    "Exp": lambda a: a.exp(),
    "Negate": lambda a: -a,
    "Mean": lambda a, b: (a + b) / 2,
}


def _statements(program):
    return [s for s in ast.parse(program).body if isinstance(s, ast.Assign)]


def names(program, leaves):
    """Leaf names, then assigned names in program order; the last one is the output."""
    assigned = []
    for statement in _statements(program):
        for target in statement.targets:
            if isinstance(target, ast.Name) and target.id not in assigned:
                assigned.append(target.id)
    return list(leaves) + [n for n in assigned if n not in leaves]


def inputs(program, leaves):
    """{name: [names of the named nodes its line uses, with repeats]} ("z = Mean(y, y)": y twice)."""
    known = set(names(program, leaves))
    found = {name: [] for name in leaves}
    for statement in _statements(program):
        used = [n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name) and n.id in known]
        for target in statement.targets:
            if isinstance(target, ast.Name):
                found[target.id] = used
    return found


def uses(program, leaves):
    """How many times each named node is used as an input in the program."""
    counts = {}
    for used in inputs(program, leaves).values():
        for name in used:
            counts[name] = counts.get(name, 0) + 1
    return counts


def line_of(program, name):
    """The program line that defines `name`, for messages."""
    for line in program.splitlines():
        if line.split("=", 1)[0].strip() == name:
            return line.strip()
    return name


def leaf_value(spec, requires_grad=False):
    """A number, or a tensor given as {"data": nested lists, "dtype": "float32"}."""
    if isinstance(spec, dict):
        import torch

        return torch.tensor(spec["data"], dtype=getattr(torch, spec.get("dtype", "float64")),
                            requires_grad=requires_grad)
    return float(spec)


def build(program, leaves, classes):
    """Build `program` from the node classes in `classes` (at least Leaf); return name -> node."""
    nodes = {name: classes["Leaf"](leaf_value(spec), name) for name, spec in leaves.items()}
    scope = {"__builtins__": {}, **classes, **nodes}
    exec(program, scope)
    return {name: scope[name] for name in names(program, leaves)}


def _torch_scope(program, leaves, specs):
    import torch

    tensors = {}
    for name, spec in leaves.items():
        value = leaf_value(spec, requires_grad=True) if isinstance(spec, dict) else \
            torch.tensor(float(spec), dtype=torch.float64, requires_grad=True)
        tensors[name] = value
    scope = {"__builtins__": {}, **TORCH_OPS, **declared.torch_ops(specs or {}), **tensors}
    exec(program, scope)
    return {name: scope[name] for name in names(program, leaves)}


def reference(program, leaves, one=1.0, specs=None):
    """Expected (results, gradients) by name; gradients are d output / d node times `one`.
    `specs` are the declared node types the program uses."""
    import torch

    values = _torch_scope(program, leaves, specs)
    for value in values.values():
        if value.requires_grad and not value.is_leaf:
            value.retain_grad()
    output = values[names(program, leaves)[-1]]
    output.backward(torch.as_tensor(one, dtype=output.dtype))
    results = {name: value.detach() for name, value in values.items()}
    gradients = {name: value.grad for name, value in values.items() if value.grad is not None}
    return results, gradients


def derivatives(program, leaves, wrt, order, specs=None):
    """d^k output / d wrt^k for k = 1..order, elementwise (the output is a sum over wrt)."""
    import torch

    values = _torch_scope(program, leaves, specs)
    output, found = values[names(program, leaves)[-1]], []
    for _ in range(order):
        (grad,) = torch.autograd.grad(output, values[wrt], create_graph=True)
        found.append(grad.detach())
        output = grad.sum()
    return found
