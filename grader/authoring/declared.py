"""Nodes of the grader's own whose right gradients only backpropagation produces.

A declared node is a subclass of the homework's `ComputationNode`, written in the homework's
style. Its backward() returns *declared* local gradients that are not the derivative of its
forward(): their coefficients are drawn per case. So differentiating the forward pass in any way
(torch autograd, complex steps, finite differences) gives the wrong gradients, and only an engine
that multiplies what each backward() returns along the paths and adds the paths up is right.

    Warp(u)      result  s·u + t        local gradient   g + h·u
    Blend(u, v)  result  s·u·v + t      local gradients  g + h·v  and  k + h·u

With `once` ("forward" or "backward"), a node gives its value only on the first call of that
method in a pass (a call of forward_algorithm or backward_algorithm); later calls give NaN. An
engine that visits a node twice in one pass then fails on values, not on a count that could be
forged.

The judge builds the same nodes in torch (`torch_ops`) as straight-through expressions whose
value is the declared result and whose derivatives, of every order, are the declared local
gradients; torch autograd then computes the sums over paths in the grading process.
"""

KINDS = {"Warp": 1, "Blend": 2}
NAN = float("nan")


def draw(rng, *names, once=None):
    """Declared node types {name: spec} with coefficients drawn from `rng` (random.Random);
    `once` is None, "forward" or "backward".

    A Warp's local gradient differs from its true derivative s by at least 0.3 while |u| <= 3;
    the tests of the build check that a differentiated forward pass fails every case.
    """
    specs = {}
    for name in names:
        kind = name.rstrip("0123456789")
        if kind not in KINDS:
            raise ValueError(f"unknown declared node type {name!r}")
        s = rng.choice([-1, 1]) * round(rng.uniform(0.5, 1.5), 2)
        g = round(s + rng.choice([-1, 1]) * rng.uniform(0.6, 1.4), 2)
        spec = {"kind": kind, "s": s, "t": round(rng.uniform(-1, 1), 2), "g": g,
                "h": round(rng.uniform(-0.1, 0.1), 3), "once": once}
        if kind == "Blend":
            spec["k"] = round(s + rng.choice([-1, 1]) * rng.uniform(0.6, 1.4), 2)
        specs[name] = spec
    return specs


def describe(name, spec):
    """How a declared node type works, for messages."""
    s, t, g, h = spec["s"], spec["t"], spec["g"], spec["h"]
    if spec["kind"] == "Warp":
        rule = f"its result is {_plus(f'{s:g}·u', t)} and its backward() returns the upstream " \
               f"gradient times {_plus(f'{g:g}', h, 'u')}"
    else:
        k = spec["k"]
        rule = f"its result is {_plus(f'{s:g}·u·v', t)} and its backward() returns the upstream " \
               f"gradient times {_plus(f'{g:g}', h, 'v')} and times {_plus(f'{k:g}', h, 'u')}"
    once = f" Its {spec['once']}() gives its value only on its first call in a pass (NaN " \
           "after that)." if spec.get("once") else ""
    return f"{name}({'u' if spec['kind'] == 'Warp' else 'u, v'}) is a test node of the " \
           f"grader's: {rule}, on purpose not its derivative.{once}"


def _plus(text, b, variable=""):
    """'text + b·variable', with the sign written once."""
    if not b:
        return text
    return f"{text} {'+' if b > 0 else '-'} {abs(b):g}" + (f"·{variable}" if variable else "")


class Passes:
    """Which declared nodes have run forward() or backward() in the current pass. The probe
    starts a pass before each call of forward_algorithm or backward_algorithm."""

    def __init__(self):
        self.seen = set()

    def start(self):
        self.seen.clear()

    def first(self, node, method):
        key = (id(node), method)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _nan_like(value):
    import torch

    if isinstance(value, torch.Tensor):
        return torch.full_like(value, NAN)
    return NAN


def node_classes(base, specs, passes):
    """{name: subclass of `base`} for the declared node types `specs` (see `draw`)."""
    return {name: _node_class(base, name, spec, passes) for name, spec in specs.items()}


def _node_class(base, name, spec, passes):
    s, t, g, h, k = spec["s"], spec["t"], spec["g"], spec["h"], spec.get("k")
    once = spec.get("once")

    def keep(node, method, values):
        if once != method or passes.first(node, method):
            return values
        return [_nan_like(v) for v in values] if isinstance(values, list) else _nan_like(values)

    if spec["kind"] == "Warp":
        def forward(self):
            self.result = keep(self, "forward", s * self.input(0) + t)

        def backward(self):
            u = self.input(0)
            return keep(self, "backward", [self.gradient * (g + h * u if h else g)])
    else:
        def forward(self):
            self.result = keep(self, "forward", s * self.input(0) * self.input(1) + t)

        def backward(self):
            u, v = self.input(0), self.input(1)
            return keep(self, "backward", [self.gradient * (g + h * v if h else g),
                                           self.gradient * (k + h * u if h else k)])
    return type(name, (base,), {"forward": forward, "backward": backward,
                                "__module__": "grader"})


def torch_ops(specs):
    """{name: function on torch tensors} reproducing the declared node types for the judge."""
    return {name: _torch_op(spec) for name, spec in specs.items()}


def _torch_op(spec):
    s, t, g, h, k = spec["s"], spec["t"], spec["g"], spec["h"], spec.get("k")

    def straight_through(value, potential):
        # the value of `value`; the derivatives, of every order, of `potential`
        return value.detach() + (potential - potential.detach())

    if spec["kind"] == "Warp":
        return lambda u: straight_through(s * u + t, g * u + h * u * u / 2)
    return lambda u, v: straight_through(s * u * v + t, g * u + k * v + h * u * v)
