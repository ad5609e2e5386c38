"""Helpers for probes: they run beside student code, build graphs and observe them.

What they record is plain data for the judge. Values (results, gradients) decide points; the
evidence of gradient flow is only a flag for course staff, since student code running in the
same process could forge it.
"""

from grader.authoring import declared as declared_nodes


def graph_nodes(output, limit=10_000):
    """Every node of the graph that ends at `output`, found through `input_nodes`."""
    nodes, seen, pending = [], set(), [output]
    while pending and len(nodes) < limit:
        node = pending.pop()
        if id(node) not in seen:
            seen.add(id(node))
            nodes.append(node)
            pending += list(getattr(node, "input_nodes", []))
    return nodes


class Flow:
    """The evidence that gradients flowed through backward(): for every call of a node's
    backward(), which of its inputs already held a gradient and what the call returned; after the
    pass, every node's gradient. `grader.authoring.checks.flow_notes` reads it."""

    MAX_CALLS = 2_000

    def __init__(self, output, names):
        self.nodes = graph_nodes(output)
        index = {id(node): i for i, node in enumerate(self.nodes)}
        self.inputs = [[index.get(id(m), -1) for m in node.input_nodes] for node in self.nodes]
        self.labels = [names.get(id(node)) or f"a {type(node).__name__} node"
                       for node in self.nodes]
        self.calls, self.truncated = [], False
        for i, node in enumerate(self.nodes):
            node.backward = self._traced(node, node.backward, i)

    def _traced(self, node, original, i):
        def backward(*args, **kwargs):
            held = [not _empty(m.gradient) for m in node.input_nodes]
            returned = original(*args, **kwargs)
            if len(self.calls) < self.MAX_CALLS:
                self.calls.append({"node": i, "held": held, "returned": _copies(returned)})
            else:
                self.truncated = True
            return returned
        return backward

    def evidence(self):
        for node in self.nodes:
            node.__dict__.pop("backward", None)
        return {"inputs": self.inputs, "labels": self.labels, "calls": self.calls,
                "truncated": self.truncated,
                "gradients": [_copies(node.gradient) for node in self.nodes]}


def _empty(value):
    if value is None:
        return True
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return not bool(value.detach().ne(0).any())
        return isinstance(value, (int, float)) and value == 0
    except Exception:  # noqa: BLE001 - a student's object may not compare
        return False


def _copies(value):
    """A snapshot of a value that later in-place updates cannot change."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return [_copies(v) for v in value]
    return value


def _classes(classes, declared, base, passes):
    if not declared:
        return dict(classes)
    if base is None:
        raise TypeError("a program with declared nodes needs the homework's ComputationNode")
    return {**classes, **declared_nodes.node_classes(base, declared, passes)}


def run_program(program, leaves, classes, forward_algorithm, backward_algorithm=None, one=None,
                declared=None, base=None):
    """Build a program's graph with the student's classes and run the student's algorithms.

    Returns {"results": {name: result}} and, when `backward_algorithm` is given,
    {"gradients": {name: gradient}, "flow": Flow evidence}. `one` (JSON) is passed as the `one`
    argument if given; `declared` are declared node types (grader.authoring.declared.draw),
    built on `base`, the homework's ComputationNode. The backward pass runs under
    torch.no_grad().
    """
    graph = _graph(program, leaves, classes, declared, base)
    return _run_passes(*graph, forward_algorithm, backward_algorithm, one)


def run_programs(program, runs, classes, forward_algorithm, backward_algorithm=None, one=None,
                 declared=None, base=None):
    """`run_program` once per leaves in `runs`, each on a graph of its own."""
    return [run_program(program, leaves, classes, forward_algorithm, backward_algorithm, one,
                        declared, base) for leaves in runs]


def rerun_program(program, runs, classes, forward_algorithm, backward_algorithm=None, one=None,
                  declared=None, base=None):
    """One graph, built once; for each leaves of `runs`, the leaves' values are set and the
    passes run again on the same graph. Returns what `run_program` returns, per run."""
    from grader.authoring.programs import leaf_value

    nodes, output, passes = _graph(program, runs[0], classes, declared, base)
    found = []
    for leaves in runs:
        for name, spec in leaves.items():
            nodes[name].value = leaf_value(spec)
        found.append(_run_passes(nodes, output, passes, forward_algorithm, backward_algorithm,
                                 one))
    return found


def _graph(program, leaves, classes, declared, base):
    """(nodes by name, the output node, the Passes of its declared nodes)."""
    from grader.authoring.programs import build, names

    passes = declared_nodes.Passes()
    nodes = build(program, leaves, _classes(classes, declared, base, passes))
    return nodes, nodes[names(program, leaves)[-1]], passes


def _run_passes(nodes, output, passes, forward_algorithm, backward_algorithm, one):
    """A forward pass and, with `backward_algorithm`, a backward pass, on a built graph."""
    import torch

    from grader.authoring.programs import leaf_value

    passes.start()
    forward_algorithm(output)
    # snapshots: the next pass (or this backward pass) may update the same tensors in place
    found = {"results": {name: _copies(node.result) for name, node in nodes.items()}}
    if backward_algorithm is not None:
        flow = Flow(output, {id(node): name for name, node in nodes.items()})
        passes.start()
        with torch.no_grad():
            if one is None:
                backward_algorithm(output)
            else:
                backward_algorithm(output, one=leaf_value(one))
        found["gradients"] = {name: _copies(node.gradient) for name, node in nodes.items()}
        found["flow"] = flow.evidence()
    return found


def higher_derivatives(program, leaves, wrt, order, Leaf, forward_algorithm, backward_algorithm,
                       build_graph, classes=None, declared=None, base=None):
    """The homework's extra-credit procedure: differentiate, sum, differentiate again.

    Returns one entry per order: {"node": True, "value": result of the gradient graph}, or
    {"node": False, "value": the gradient} when the gradient is not a node that can be
    differentiated again.
    """
    import torch

    from grader.authoring.programs import build, names

    passes = declared_nodes.Passes()
    nodes = build(program, leaves, _classes({"Leaf": Leaf, **(classes or {})}, declared, base,
                                            passes))
    top = nodes[names(program, leaves)[-1]]
    forward_algorithm(top)
    found = []
    for _ in range(order):
        with build_graph():
            backward_algorithm(top, one=Leaf(torch.tensor(1.0)))
        gradient = nodes[wrt].gradient
        if not hasattr(gradient, "sorted_nodes"):
            found.append({"node": False, "value": gradient})
            break
        top = gradient.sum()
        forward_algorithm(top)
        found.append({"node": True, "value": gradient.result})
    return found
