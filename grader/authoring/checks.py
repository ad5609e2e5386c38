"""Judge helpers: compare what a probe found with what is expected, in the student's terms.

Each helper raises AssertionError with a message that names the value (`what`), says what was
expected and what was found. Expected values are computed by the judge itself (closed forms or
torch autograd), never taken from the probe.
"""

import math

import torch

from grader.authoring.codec import Tagged


def _rtol(dtype):
    return {torch.float16: 1e-2, torch.bfloat16: 2e-2, torch.float32: 1e-4}.get(dtype, 1e-7)


def describe(found):
    if found is None:
        return "None"
    if isinstance(found, Tagged):
        return f"a {found['type']} {'node' if found.kind == 'node' else 'object'}"
    if isinstance(found, torch.Tensor):
        if found.dim() == 0:
            return f"tensor({found.item():.6g})"
        return f"a tensor of shape {tuple(found.shape)}"
    if isinstance(found, bool):
        return str(found)
    if isinstance(found, (int, float)):
        return f"{found:.6g}"
    return repr(found)[:80]


def close(found, expected, what, rtol=None, atol=None, hint=""):
    """`found` must equal `expected` (a number or a tensor) within tolerance."""
    hint = f" {hint}" if hint else ""
    if isinstance(expected, torch.Tensor) and expected.dim() > 0:
        return _close_tensor(found, expected, what, rtol, atol, hint)
    expected = float(expected)
    if isinstance(found, torch.Tensor) and found.numel() == 1:
        found_value = float(found.reshape(()).item())
    elif isinstance(found, (int, float)) and not isinstance(found, bool):
        found_value = float(found)
    else:
        raise AssertionError(f"{what} should be the number {expected:.6g}, but it is "
                             f"{describe(found)}.{hint}")
    dtype = found.dtype if isinstance(found, torch.Tensor) else torch.float64
    rtol = _rtol(dtype) if rtol is None else rtol
    atol = rtol if atol is None else atol
    if not math.isclose(found_value, expected, rel_tol=rtol, abs_tol=atol):
        raise AssertionError(f"{what} should be {expected:.6g}, but it is {found_value:.6g}.{hint}")


def _close_tensor(found, expected, what, rtol, atol, hint):
    shape = tuple(expected.shape)
    if not isinstance(found, torch.Tensor):
        raise AssertionError(f"{what} should be a tensor of shape {shape}, but it is "
                             f"{describe(found)}.{hint}")
    if tuple(found.shape) != shape:
        raise AssertionError(f"{what} should have shape {shape}, but its shape is "
                             f"{tuple(found.shape)}.{hint}")
    if not (found.is_floating_point() or found.dtype in (torch.int32, torch.int64)):
        raise AssertionError(f"{what} should hold real numbers, but its dtype is {found.dtype}.")
    rtol = _rtol(expected.dtype) if rtol is None else rtol
    atol = rtol * max(1.0, float(expected.abs().max())) if atol is None else atol
    got, want = found.to(torch.float64), expected.to(torch.float64)
    bad = ~torch.isclose(got, want, rtol=rtol, atol=atol)
    if bad.any():
        diff = (got - want).abs().masked_fill(~bad, -1)
        index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), shape))
        raise AssertionError(
            f"{what} is wrong at {int(bad.sum())} of {want.numel()} entries; for example at "
            f"index {index} it should be {want[index].item():.6g} but it is "
            f"{got[index].item():.6g}.{hint}")


def once_each(counts, what, pass_name):
    """Every node's method ran exactly once: `counts` is what CallCounter.run returned."""
    if not isinstance(counts, dict) or not counts:
        raise AssertionError(f"{what}: the {pass_name} calls could not be counted.")
    if "stopped" in counts:
        raise AssertionError(
            f"{what}: the {pass_name} pass was stopped after {counts['stopped']} calls on a graph "
            f"of {counts['nodes']} nodes; each node should run exactly once per pass. Your "
            "algorithm visits shared nodes once for every path that reaches them, which takes "
            "exponential time.")
    wrong = [(label, n) for label, n in counts.items() if n != 1]
    if wrong:
        label, n = max(wrong, key=lambda item: item[1])
        raise AssertionError(
            f"{what}: in one {pass_name} pass, {len(wrong)} of {len(counts)} nodes did not run "
            f"exactly once (node {label} ran {n} times). Each node should run exactly once per "
            "pass, even when several paths lead to it.")


def program_matches(found, program, leaves, one=1.0, results=True, gradients=True, context="",
                    hint=""):
    """Every named node of a program: its result and/or its gradient, against torch autograd.

    `found` is what `grader.authoring.probes.run_program` returned for the same program and leaves.
    """
    from grader.authoring.programs import line_of, reference

    from grader.authoring.programs import uses

    want_results, want_gradients = reference(program, leaves, one=one)
    context = context or _leaves_text(leaves)
    if results:
        for name, expected in want_results.items():
            close(found["results"][name], expected,
                  f"{context}: the result of node {line_of(program, name)}", hint=hint)
    if gradients:
        shared = uses(program, leaves)
        for name, expected in want_gradients.items():
            close(found["gradients"][name], expected,
                  f"{context}: the gradient of node {line_of(program, name)}",
                  hint=_path_hint(name, shared.get(name, 0), found["gradients"][name],
                                  expected) or hint)
        if "flow" in found:
            flow_matches(found["flow"], context)


def _path_hint(name, users, found, expected):
    """For a node several nodes use: say that their gradients add up, when the one found is
    too small or too large."""
    if users < 2 or not isinstance(found, (int, float, torch.Tensor)):
        return ""
    try:
        found, expected = torch.as_tensor(found, dtype=torch.float64), expected.double()
        ratio = float((found.abs().sum() / expected.abs().sum()))
    except Exception:  # noqa: BLE001 - shapes or types that do not compare
        return ""
    size = "too small" if ratio < 1 else "too large"
    return (f"It is {size}: {name} is used by {users} nodes, so its gradient is the sum of the "
            "gradients coming back along every path, each added exactly once.")


def flow_matches(flow, context):
    """The evidence recorded by `grader.authoring.probes.Flow`: gradients must come from what
    the nodes' backward() returned. A node may hold a gradient only once a node that uses it has
    returned one for it, and in the end its gradient is the sum of all it was returned."""
    if not isinstance(flow, dict) or not flow.get("calls"):
        raise AssertionError(f"{context}: backward_algorithm did not call backward() on the "
                             "nodes; gradients must be computed by each node's backward().")
    if flow["truncated"]:
        raise AssertionError(f"{context}: backward() ran more than {len(flow['calls'])} times "
                             f"on a graph of {len(flow['inputs'])} nodes.")
    inputs, labels = flow["inputs"], flow["labels"]
    returned = [[] for _ in inputs]
    for call in flow["calls"]:
        node = call["node"]
        for j, held in zip(inputs[node], call["held"]):
            if held and j >= 0 and not returned[j]:
                raise AssertionError(
                    f"{context}: {labels[j]} already held a gradient when {labels[node]} ran "
                    "backward(), before any node using it had returned one. Gradients must be "
                    "the values that backward() returns, added up with accumulate_gradient.")
        values = call["returned"]
        if isinstance(values, list) and len(values) == len(inputs[node]):
            for j, value in zip(inputs[node], values):
                if j >= 0:
                    returned[j].append(value)
    for j, parts in enumerate(returned):
        total = _sum(parts)
        if total is not None and not _same(flow["gradients"][j], total):
            raise AssertionError(
                f"{context}: the gradient of {labels[j]} is not the sum of the gradients that "
                "backward() returned for it. Gradients must come from backward(), added up with "
                "accumulate_gradient.")


def visited_once(flow, context):
    """Each node's backward() ran exactly once in the pass recorded by `Flow`."""
    if not isinstance(flow, dict) or not flow.get("calls"):
        raise AssertionError(f"{context}: backward_algorithm did not call backward() on the "
                             "nodes.")
    counts = [0] * len(flow["inputs"])
    for call in flow["calls"]:
        counts[call["node"]] += 1
    wrong = [(flow["labels"][i], n) for i, n in enumerate(counts) if n != 1]
    if wrong or flow["truncated"]:
        label, n = max(wrong, key=lambda item: item[1]) if wrong else ("a node", "many")
        raise AssertionError(
            f"{context}: in one backward pass, {len(wrong)} of {len(counts)} nodes did not run "
            f"backward() exactly once ({label} ran {n} times). Visit each node and each edge "
            "exactly once, even where several paths lead to a node.")


def _sum(parts):
    try:
        values = [torch.as_tensor(p, dtype=torch.float64) for p in parts]
        return sum(values[1:], values[0]) if values else None
    except Exception:  # noqa: BLE001 - returned values that are not numbers: nothing to add
        return None


def _same(found, total):
    try:
        found = torch.as_tensor(found, dtype=torch.float64)
        return bool(torch.allclose(found, total.expand_as(found) if total.dim() == 0 else total,
                                   rtol=1e-4, atol=1e-6 * max(1.0, float(total.abs().max()))))
    except Exception:  # noqa: BLE001 - shapes that differ: the value checks report those
        return True


def _leaves_text(leaves):
    parts = []
    for name, spec in leaves.items():
        if isinstance(spec, dict):
            shape = tuple(torch.tensor(spec["data"]).shape)
            parts.append(f"{name} a {spec.get('dtype', 'float64')} tensor of shape {shape}")
        else:
            parts.append(f"{name} = {spec}")
    return "With " + ", ".join(parts)


def derivatives_match(found, program, leaves, wrt, order, context=""):
    """Derivatives of order 1..`order` from `grader.authoring.probes.higher_derivatives`."""
    from grader.authoring.programs import derivatives

    context = context or _leaves_text(leaves)
    names = ["first", "second", "third", "fourth"]
    for k, expected in enumerate(derivatives(program, leaves, wrt, order)):
        what = f"{context}: the {names[k]} derivative"
        if k >= len(found):
            raise AssertionError(f"{what} was not computed.")
        entry = found[k]
        if not entry["node"]:
            raise AssertionError(
                f"{what}: under build_graph(), {wrt}.gradient should be a computation node that "
                f"can be differentiated again, but it is {describe(entry['value'])}.")
        close(entry["value"], expected, what)


def _answer(found):
    if isinstance(found, Tagged):
        return ... if found["type"] == "ellipsis" else found
    return found


def answer_readable(found, name, check, **options):
    """Public check: the answer is filled in and can be read (`check` is a readable_* function)."""
    verdict = check(_answer(found), **options)
    if not verdict.correct:
        raise AssertionError(f"{name}: {verdict.feedback}")


def answer_correct(found, name, compare, reference):
    """Hidden check: `compare` (compare_value or compare_bigo) accepts the answer."""
    verdict = compare(_answer(found), reference)
    if not verdict.correct:
        raise AssertionError(f"{name}: {verdict.feedback}")
