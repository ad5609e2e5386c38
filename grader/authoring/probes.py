"""Helpers for probes: they run beside student code and only observe it."""


class CallLimit(BaseException):
    """Stops an algorithm that calls far more node methods than the graph has nodes.

    A BaseException, so a student's `except Exception` cannot swallow it.
    """


class CallCounter:
    """Counts calls of `method` on each node; stops the pass after `limit` calls in all."""

    def __init__(self, nodes, method, limit):
        self.nodes, self.limit, self.total = list(nodes), limit, 0
        self.counts = [0] * len(self.nodes)
        for i, node in enumerate(self.nodes):
            setattr(node, method, self._wrap(getattr(node, method), i))

    def _wrap(self, original, i):
        def counted(*args, **kwargs):
            self.total += 1
            self.counts[i] += 1
            if self.total > self.limit:
                raise CallLimit()
            return original(*args, **kwargs)
        return counted

    def run(self, algorithm, *args, **kwargs):
        """Run one pass; return {label: calls}, or {"stopped": calls, "nodes": n} if cut short."""
        try:
            algorithm(*args, **kwargs)
        except CallLimit:
            return {"stopped": self.total, "nodes": len(self.nodes)}
        return {f"y{i}": n for i, n in enumerate(self.counts)}


def shared_chain(x, step, depth):
    """y0 = x, y(k+1) = step(y(k), y(k)): every node is reached by 2**k paths from the top."""
    nodes = [x]
    for _ in range(depth):
        nodes.append(step(nodes[-1], nodes[-1]))
    return nodes


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
    pass, every node's gradient. `grader.authoring.checks.flow_matches` judges it."""

    MAX_CALLS = 10_000

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


def run_program(program, leaves, classes, forward_algorithm, backward_algorithm=None, one=None):
    """Build a program's graph with the student's classes and run the student's algorithms.

    Returns {"results": {name: result}} and, when `backward_algorithm` is given,
    {"gradients": {name: gradient}, "flow": Flow evidence}; `one` (JSON) is passed as the `one`
    argument if given. The backward pass runs under torch.no_grad().
    """
    import torch

    from grader.authoring.programs import build, leaf_value, names

    nodes = build(program, leaves, classes)
    output = nodes[names(program, leaves)[-1]]
    forward_algorithm(output)
    found = {"results": {name: node.result for name, node in nodes.items()}}
    if backward_algorithm is not None:
        flow = Flow(output, {id(node): name for name, node in nodes.items()})
        with torch.no_grad():
            if one is None:
                backward_algorithm(output)
            else:
                backward_algorithm(output, one=leaf_value(one))
        found["gradients"] = {name: node.gradient for name, node in nodes.items()}
        found["flow"] = flow.evidence()
    return found


def higher_derivatives(program, leaves, wrt, order, Leaf, forward_algorithm, backward_algorithm,
                       build_graph, classes=None):
    """The homework's extra-credit procedure: differentiate, sum, differentiate again.

    Returns one entry per order: {"node": True, "value": result of the gradient graph}, or
    {"node": False, "value": the gradient} when the gradient is not a node that can be
    differentiated again.
    """
    import torch

    from grader.authoring.programs import build, names

    nodes = build(program, leaves, {"Leaf": Leaf, **(classes or {})})
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
