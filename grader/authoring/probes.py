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


def run_program(program, leaves, classes, forward_algorithm, backward_algorithm=None, one=None):
    """Build a program's graph with the student's classes and run the student's algorithms.

    Returns {"results": {name: result}} and, when `backward_algorithm` is given,
    {"gradients": {name: gradient}}; `one` (JSON) is passed as the `one` argument if given.
    The backward pass runs under torch.no_grad(), so torch autograd cannot stand in for it.
    """
    import torch

    from grader.authoring.programs import build, leaf_value, names

    nodes = build(program, leaves, classes)
    output = nodes[names(program, leaves)[-1]]
    forward_algorithm(output)
    found = {"results": {name: node.result for name, node in nodes.items()}}
    if backward_algorithm is not None:
        with torch.no_grad():
            if one is None:
                backward_algorithm(output)
            else:
                backward_algorithm(output, one=leaf_value(one))
        found["gradients"] = {name: node.gradient for name, node in nodes.items()}
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
