"""Judge helpers: compare what a probe found with what is expected, in the student's terms.

Each helper raises `CheckFailed` with a message that names the value, says what was expected
and what was found, and, for graphs, a picture of the graph with the first wrong node marked.
Expected values are computed by the judge itself (closed forms, or torch autograd on the same
program), never taken from the probe. What a probe sends is checked for type and shape before
any arithmetic touches it: student data is never broadcast.
"""

import math

import torch

from grader.authoring.cases import CheckFailed, Passed
from grader.authoring.codec import Tagged
from grader.verdicts import Kind

ORDINALS = ["first", "second", "third", "fourth"]
NAN_HINT = ("NaN comes from a node of the grader's that gives its value only once per pass: "
            "some node's {method}() ran more than once in one pass. Visit each node exactly once, "
            "even where several paths lead to it.")


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


def _number(found):
    """`found` as a float if it is one number (a one-element tensor counts), else None."""
    if isinstance(found, torch.Tensor) and found.numel() == 1:
        return float(found.reshape(()).item())
    if isinstance(found, (int, float)) and not isinstance(found, bool):
        return float(found)
    return None


def mismatch(found, expected, rtol=None, atol=None):
    """None if `found` equals `expected` (a number or a tensor) within tolerance, else why not:
    (kind of mismatch, details). Shapes and types are checked before any arithmetic."""
    if isinstance(expected, torch.Tensor) and expected.dim() > 0:
        shape = tuple(expected.shape)
        if not isinstance(found, torch.Tensor):
            return "type", f"should be a tensor of shape {shape}, but it is {describe(found)}"
        if tuple(found.shape) != shape:
            return "shape", f"should have shape {shape}, but its shape is {tuple(found.shape)}"
        if not (found.is_floating_point() or found.dtype in (torch.int32, torch.int64)):
            return "type", f"should hold real numbers, but its dtype is {found.dtype}"
        rtol = _rtol(expected.dtype) if rtol is None else rtol
        atol = rtol * max(1.0, float(expected.abs().max())) if atol is None else atol
        got, want = found.to(torch.float64), expected.to(torch.float64)
        bad = ~torch.isclose(got, want, rtol=rtol, atol=atol)
        if not bad.any():
            return None
        diff = (got - want).abs().nan_to_num(math.inf).masked_fill(~bad, -1)
        index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), shape))
        return "value", (f"is wrong at {int(bad.sum())} of {want.numel()} entries; for example "
                         f"at index {index} it should be {want[index].item():.6g} but it is "
                         f"{got[index].item():.6g}")
    value = float(expected)
    number = _number(found)
    if number is None:
        return "type", f"should be the number {value:.6g}, but it is {describe(found)}"
    dtype = found.dtype if isinstance(found, torch.Tensor) else torch.float64
    rtol = _rtol(dtype) if rtol is None else rtol
    if math.isclose(number, value, rel_tol=rtol, abs_tol=rtol if atol is None else atol):
        return None
    return "value", f"should be {value:.6g}, but it is {number:.6g}"


def close(found, expected, what, rtol=None, atol=None, hint=""):
    """`found` must equal `expected` (a number or a tensor) within tolerance."""
    problem = mismatch(found, expected, rtol, atol)
    if problem is not None:
        raise CheckFailed(f"{what} {problem[1]}." + (f" {hint}" if hint else ""))


def _has_nan(found):
    if isinstance(found, torch.Tensor):
        return bool(torch.isnan(found).any()) if found.is_floating_point() else False
    return isinstance(found, float) and math.isnan(found)


def _short(value):
    if isinstance(value, torch.Tensor) and value.numel() > 1:
        return f"tensor {tuple(value.shape)}"
    number = _number(value)
    return f"{number:.4g}" if number is not None else describe(value)[:40]


def _leaf_line(name, spec):
    if isinstance(spec, dict):
        return f"{name}: a tensor of shape {tuple(torch.tensor(spec['data']).shape)}"
    return f"{name} = {spec}"


def _leaves_text(leaves):
    parts = []
    for name, spec in leaves.items():
        if isinstance(spec, dict):
            shape = tuple(torch.tensor(spec["data"]).shape)
            parts.append(f"{name} a {spec.get('dtype', 'float64')} tensor of shape {shape}")
        else:
            parts.append(f"{name} = {spec}")
    return "With " + ", ".join(parts)


def _declared_text(program, declared):
    from grader.authoring.declared import describe as rule

    used = [name for name in (declared or {}) if f"{name}(" in program]
    return " ".join(rule(name, declared[name]) for name in used)


def program_matches(found, program, runs, one=1.0, results=True, gradients=True, declared=None,
                    context="", hint=""):
    """Every named node of a program, for each leaves of `runs`: its result and/or its gradient,
    against torch autograd on the same program (declared nodes included). `found` is what
    grader.authoring.probes.run_programs (or rerun_program) returned. `context` and `hint` may
    be lists, one per run. Returns notes for course staff: the evidence that gradients did not
    flow through backward()."""
    from grader.authoring.programs import reference

    if not isinstance(found, list) or len(found) != len(runs):
        raise CheckFailed("The check could not read the values your code produced.")
    notes = []
    hints = hint if isinstance(hint, list) else [hint] * len(runs)
    contexts = context if isinstance(context, list) else [context] * len(runs)
    for entry, leaves, hint, context in zip(found, runs, hints, contexts):
        if not isinstance(entry, dict):
            raise CheckFailed("The check could not read the values your code produced.")
        want_results, want_gradients = reference(program, leaves, one=one, specs=declared)
        where = context or _leaves_text(leaves)
        if results:
            _compare(entry.get("results"), want_results, "result", program, leaves, where,
                     hint, declared)
        if gradients:
            _compare(entry.get("gradients"), want_gradients, "gradient", program, leaves, where,
                     hint, declared)
            if "flow" in entry:
                notes += flow_notes(entry["flow"], where)
    return notes


def _compare(found, wanted, quantity, program, leaves, where, hint, declared):
    from grader.authoring.programs import inputs, line_of, names, uses

    order = names(program, leaves)
    if quantity == "gradient":
        order = order[::-1]      # the backward pass visits the output first
    found = found if isinstance(found, dict) else {}
    problems = {}
    for name in order:
        if name in wanted:
            problem = mismatch(found.get(name), wanted[name])
            if problem is not None:
                problems[name] = problem
    if not problems:
        return
    first = next(name for name in order if name in problems)
    method = "forward" if quantity == "result" else "backward"
    if declared and any(s.get("once") == method for s in declared.values()) \
            and _has_nan(found.get(first)):
        advice = NAN_HINT.format(method=method)
    elif hint:
        advice = hint
    elif quantity == "gradient" and uses(program, leaves).get(first, 0) > 1:
        advice = (f"{first} is used by {uses(program, leaves)[first]} nodes: its gradient is the "
                  "sum of the gradients coming back along every path, each added exactly once.")
    else:
        advice = ""
    rules = _declared_text(program, declared)
    node = f"leaf `{first}`" if first in leaves else f"node `{line_of(program, first)}`"
    message = (f"{where}: the {quantity} of {node} {problems[first][1]}."
               + (f" {advice}" if advice else "") + (f"\n{rules}" if rules else ""))
    all_inputs = inputs(program, leaves)
    listed = names(program, leaves)
    position = {name: k for k, name in enumerate(listed)}
    picture = {
        "title": f"{where}: the {quantity} of every node",
        "quantity": quantity,
        "nodes": [{"name": name, "text": _leaf_line(name, leaves[name]) if name in leaves
                   else line_of(program, name),
                   "inputs": [position[n] for n in all_inputs.get(name, []) if n in position],
                   "expected": _short(wanted[name]) if name in wanted else "",
                   "found": _short(found.get(name)),
                   "status": "wrong" if name in problems else
                             ("ok" if name in wanted else "unchecked")}
                  for name in listed],
        "first_wrong": position[first],
    }
    raise CheckFailed(message, Kind.WRONG, picture)


def flow_notes(flow, context):
    """Notes for course staff from the evidence recorded by grader.authoring.probes.Flow: a
    node that held a gradient before any node using it had returned one, a gradient that is not
    the sum of what backward() returned for it, a node whose backward() ran more than once.
    Values only: never more arithmetic than a sum of same-shaped tensors."""
    if not isinstance(flow, dict) or not isinstance(flow.get("calls"), list) or not flow["calls"]:
        return [f"{context}: backward_algorithm did not call backward() on the nodes"]
    inputs, labels, calls = flow.get("inputs"), flow.get("labels"), flow["calls"]
    gradients = flow.get("gradients")
    if not (isinstance(inputs, list) and isinstance(labels, list) and isinstance(gradients, list)
            and len(inputs) == len(labels) == len(gradients)):
        return [f"{context}: the evidence of gradient flow could not be read"]
    notes = [f"{context}: backward() ran more than {len(calls)} times"] if flow.get("truncated") \
        else []
    returned, runs = [[] for _ in inputs], [0] * len(inputs)
    for call in calls:
        node = call.get("node") if isinstance(call, dict) else None
        if not isinstance(node, int) or not 0 <= node < len(inputs):
            return notes + [f"{context}: the evidence of gradient flow could not be read"]
        runs[node] += 1
        for j, held in zip(inputs[node], call.get("held") or []):
            if held is True and isinstance(j, int) and 0 <= j < len(inputs) and not returned[j]:
                notes.append(f"{context}: {labels[j]} held a gradient before any node using it "
                             "returned one")
        values = call.get("returned")
        if isinstance(values, list) and len(values) == len(inputs[node]):
            for j, value in zip(inputs[node], values):
                if isinstance(j, int) and 0 <= j < len(inputs):
                    returned[j].append(value)
    for j, parts in enumerate(returned):
        total = _sum_like(parts, gradients[j])
        if total is not None and mismatch(gradients[j], total, rtol=1e-4, atol=1e-6) is not None:
            notes.append(f"{context}: the gradient of {labels[j]} is not the sum of what "
                         "backward() returned for it")
    twice = [labels[j] for j, n in enumerate(runs) if n > 1]
    if twice:
        notes.append(f"{context}: backward() ran more than once on {', '.join(map(str, twice[:5]))}")
    return notes[:10]


def _sum_like(parts, like):
    """The sum of `parts` when each has the type and shape of `like`, else None."""
    if not parts:
        return None
    if isinstance(like, torch.Tensor):
        if not all(isinstance(p, torch.Tensor) and p.shape == like.shape for p in parts):
            return None
        return sum((p.to(torch.float64) for p in parts[1:]), parts[0].to(torch.float64))
    numbers = [_number(p) for p in parts]
    return None if None in numbers or _number(like) is None else sum(numbers)


def derivatives_match(found, program, leaves, wrt, order, context="", declared=None):
    """Derivatives of order 1..`order` from grader.authoring.probes.higher_derivatives."""
    from grader.authoring.programs import derivatives

    context = context or _leaves_text(leaves)
    if not isinstance(found, list):
        raise CheckFailed("The check could not read the values your code produced.")
    for k, expected in enumerate(derivatives(program, leaves, wrt, order, declared)):
        what = f"{context}: the {ORDINALS[k]} derivative"
        if k >= len(found) or not isinstance(found[k], dict):
            raise CheckFailed(f"{what} was not computed.")
        entry = found[k]
        if not entry.get("node"):
            raise CheckFailed(
                f"{what}: under build_graph(), {wrt}.gradient should be a computation node that "
                f"can be differentiated again, but it is {describe(entry.get('value'))}.")
        rules = _declared_text(program, declared)
        close(entry.get("value"), expected, what, hint=rules)


def _answer(found):
    if isinstance(found, Tagged):
        return ... if found["type"] == "ellipsis" else found
    return found


def answers_readable(found, names, check, **options):
    """Public check: every answer is filled in and can be read (`check` is readable_value or
    readable_bigo). Says how each was read; whether it is right is graded after submission."""
    if not isinstance(found, list) or len(found) != len(names):
        raise CheckFailed("The check could not read your answers.")
    verdicts = [(name, check(_answer(answer), **options)) for name, answer in zip(names, found)]
    lines = [f"{name}: {verdict.feedback}" for name, verdict in verdicts]
    if all(verdict.correct for _, verdict in verdicts):
        return Passed("Every answer is filled in and can be read:\n  " + "\n  ".join(lines))
    kinds = {verdict.kind for _, verdict in verdicts if not verdict.correct}
    kind = Kind.UNANSWERED if kinds == {"unanswered"} else Kind.UNREADABLE
    raise CheckFailed("Not every answer can be read yet:\n  " + "\n  ".join(lines), kind)


def answer_correct(found, name, compare, reference):
    """Hidden check: `compare` (compare_value or compare_bigo) accepts the answer."""
    verdict = compare(_answer(found), reference)
    if not verdict.correct:
        kind = {"unanswered": Kind.UNANSWERED, "invalid": Kind.UNREADABLE}.get(verdict.kind,
                                                                                 Kind.WRONG)
        raise CheckFailed(f"{name}: {verdict.feedback}", kind)
