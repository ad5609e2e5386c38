"""The zygote (grader.sealed.zygote) and the sandbox (grader.sealed.sandbox), with real children.

Jobs are built by hand the way grader.sealed.grade builds them: the provided code compiled with
the provided cell's file name and the number of the notebook cell it stands in, student cells as
text with their numbers, and for each case a tiny probe compiled from source (`CaseSpec.code`).
Children are forked by a real zygote and walled in for real, so what a test observes is what
grading observes. Every test checks, when it ends, that no child it started survives, nor
anything in a child's session (`spawns`).
"""

import os
import signal
import socket
import textwrap
import time

import pytest

from grader.sealed import protocol
from grader.sealed import zygote as zygote_module
from grader.sealed.child import PROVIDED_FILENAME
from grader.sealed.sandbox import EXIT_WAIT, Sandbox
from grader.sealed.zygote import Zygote, ZygoteGone
from grader.verdicts import Status

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")

TIMEOUT = 1.0
MEMORY_MB = 3072
PROVIDED = compile("class ComputationNode:\n    pass\n", PROVIDED_FILENAME, "exec")
CELL = {"label": "cell 1", "source": "x = 41\n", "number": 1}
HANG = {"label": "cell hang", "source": "while True:\n    pass\n", "number": 5}
PID = "def probe():\n    import os\n    return os.getpid()\n"
UNREADABLE = "The values your code produced are too large or too deeply nested to be checked."


def cell(label, source="pass\n", number=3):
    return {"label": label, "source": source, "number": number}


def case(source, params=(), inputs=None):
    return {"code": compile(textwrap.dedent(source), "<probe>", "exec"), "name": "probe",
            "params": list(params), "inputs": dict(inputs or {})}


def job(*cases, cells=(CELL,), phase=0, provided_number=0):
    return {"phase": phase, "timeout": TIMEOUT, "memory_mb": MEMORY_MB, "provided": PROVIDED,
            "provided_number": provided_number, "cells": list(cells),
            "cases": [dict(c, id=k) for k, c in enumerate(cases)]}


def run(sandbox, jobs, timeout=TIMEOUT, deadline=60):
    return sandbox.run(jobs, timeout, time.monotonic() + deadline)


# --- processes, seen from the grading process ----------------------------------------------------

def _stat(pid):
    """(state, session id, start time) of process `pid`, or None if there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0], int(fields[3]), int(fields[19])


def _running(pid, started):
    """Whether the process `pid` that started at `started` still runs (a zombie has exited)."""
    stat = _stat(pid)
    return stat is not None and stat[2] == started and stat[0] not in "ZX"


def _sessions(pids):
    """Processes (other than zombies) in the sessions led by `pids`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] in pids and stat[0] not in "ZX":
                found.append(int(entry))
    return found


class Spawns(list):
    """What the zygotes were asked to start during a test: one dict per child, with the job it
    started for, its pid, its start time, and which earlier children still ran at that moment."""

    def pid(self, job_id):
        return next(s["pid"] for s in self if s["job"] == job_id)

    def survivors(self):
        pids = {s["pid"] for s in self}
        return [s["pid"] for s in self if _running(s["pid"], s["started"])] + _sessions(pids)


@pytest.fixture(autouse=True)
def spawns(monkeypatch):
    """Records every child any zygote starts during a test; fails the test if one outlives
    it."""
    record = Spawns()
    original = Zygote.spawn

    def spawn(self, job_id, limits, fds):
        earlier = {s["pid"]: _running(s["pid"], s["started"]) for s in record}
        pid = original(self, job_id, limits, fds)
        stat = _stat(pid)
        record.append({"job": job_id, "pid": pid, "started": stat and stat[2],
                       "earlier_running": earlier, "at": time.monotonic(), "limits": limits})
        return pid

    monkeypatch.setattr(Zygote, "spawn", spawn)
    yield record
    assert record.survivors() == []


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(workers=2)
    yield box
    box.close()


@pytest.fixture
def one_worker(sandbox):
    sandbox.workers = 1
    yield sandbox
    sandbox.workers = 2


# --- jobs that finish ----------------------------------------------------------------------------

ENGINE = {"label": "cell 2", "source": "def double(v):\n    return 2 * v\n\n"
                                       "def broken(v):\n    return v / 0\n", "number": 2}
VALUES = """
def probe(double, ComputationNode, *, v):
    class Mul(ComputationNode):
        pass
    return [double(v), torch.tensor([1.0, 2.0]) * v, Mul(), math.sqrt(v), {"k": None}]
"""


def test_a_correct_job_finishes_with_its_outcomes(sandbox, spawns):
    jobs = [job(case(VALUES, ["double", "ComputationNode"], {"v": 4}),
                case("def probe(Nope, double):\n    return 1\n", ["Nope", "double"]),
                case("def probe(broken):\n    return broken(1)\n", ["broken"]),
                cells=[CELL, ENGINE, cell("cell 3", "raise KeyError('oops')\n", 4)])]
    [result] = run(sandbox, jobs)
    assert (result.status, result.detail, result.loading) == (Status.FINISHED, "", None)
    assert 0 <= result.seconds < TIMEOUT
    values = result.outcomes[0]["value"]
    assert values[0] == 8 and values[1].tolist() == [4.0, 8.0]
    assert values[2] == {"$": "node", "type": "Mul"} and values[3] == 2.0
    assert values[4] == {"k": None}
    assert result.outcomes[1] == {"missing": ["Nope"]}
    error = result.outcomes[2]["error"]
    assert (error["type"], error["text"]) == ("ZeroDivisionError", "division by zero")
    assert error["frames"][-2:] == [["<probe>", 2, "probe"], ["cell 2", 5, "broken"]]
    [failed] = result.loaded
    assert failed["cell"] == "cell 3" and failed["error"]["type"] == "KeyError"
    assert failed["error"]["text"] == "'oops'"
    assert failed["error"]["frames"][-1] == ["cell 3", 1, "<module>"]
    assert result.enforced[-1].startswith("audit hook: installed")
    assert len(spawns) == 1


@pytest.mark.parametrize("provided_number, expected", [(1, [True, True]), (3, [False, True]),
                                                       (5, [False, False])])
def test_the_provided_code_runs_where_it_stands_in_the_notebook(sandbox, provided_number,
                                                                expected):
    cells = [cell("cell a", "before = 'ComputationNode' in globals()\n", 2),
             cell("cell b", "after = 'ComputationNode' in globals()\n", 4)]
    [result] = run(sandbox, [job(case("def probe(before, after):\n    return [before, after]\n",
                                      ["before", "after"]), cells=cells,
                                 provided_number=provided_number)])
    assert result.outcomes == {0: {"value": expected}}


def test_inside_a_child_autograd_is_off_torch_has_one_thread_and_no_thread_can_start(sandbox):
    probe = """
    def probe():
        import threading
        started = []
        try:
            threading.Thread(target=lambda: torch.set_grad_enabled(True)).start()
            started.append(True)
        except (RuntimeError, PermissionError):
            started.append("refused")
        return [torch.is_grad_enabled(), torch._C._is_fwd_grad_enabled(), torch.get_num_threads(),
                started, (torch.ones(2, 2) @ torch.ones(2, 2)).tolist()]
    """
    [result] = run(sandbox, [job(case(probe))])
    assert result.status == Status.FINISHED
    assert result.outcomes[0]["value"] == [False, False, 1, ["refused"],
                                           [[2.0, 2.0], [2.0, 2.0]]]


def test_each_probe_starts_from_the_helpers_as_they_were(sandbox):
    """What a probe patches (a module, a builtin, torch) is restored before the next probe."""
    patch = """
    def probe():
        import builtins
        math.sqrt = lambda v: -1
        builtins.abs = lambda v: -1
        torch.Tensor.tolist = lambda self: 'patched'
        return [math.sqrt(4), abs(-3), torch.ones(1).tolist()]
    """
    check = "def probe():\n    return [math.sqrt(4), abs(-3), torch.ones(1).tolist()]\n"
    [result] = run(sandbox, [job(case(patch), case(check))])
    assert result.outcomes == {0: {"value": [-1, -1, "patched"]},
                               1: {"value": [2.0, 3, [1.0]]}}


def test_the_reply_is_written_by_the_harness_as_it_was_not_as_the_probe_patched_it(sandbox):
    """A probe that rewrites json.dumps (which sees the nonce) or breaks len() cannot change
    or spoil the reply to its own case."""
    rewrite = """
    def probe():
        import json
        real = json.dumps
        json.dumps = lambda message, **kw: real(dict(message, outcome={"value": 999}), **kw)
        return 1
    """
    break_len = "def probe():\n    import builtins\n    builtins.len = lambda v: 0\n    return 2\n"
    honest = "def probe():\n    return 3\n"
    [result] = run(sandbox, [job(case(rewrite), case(break_len), case(honest))])
    assert result.status == Status.FINISHED
    assert result.outcomes == {0: {"value": 1}, 1: {"value": 2}, 2: {"value": 3}}


def test_stand_ins_for_matplotlib_and_the_garbage_collector(sandbox):
    probe = """
    def probe():
        import gc, matplotlib.pyplot as plt
        figure = plt.figure()
        plt.plot([1, 2], [3, 4])
        plt.savefig('plot.png')
        return [hasattr(gc, 'get_objects'), hasattr(gc, 'get_referrers'),
                isinstance(gc.collect(), int), figure is plt, list(plt.subplots())]
    """
    [result] = run(sandbox, [job(case(probe))])
    assert result.outcomes == {0: {"value": [False, False, True, True, []]}}


def test_a_probe_that_allocates_beyond_its_memory_gets_memory_error(sandbox):
    probe = f"def probe():\n    return len(bytearray({MEMORY_MB} * 2**20))\n"
    [result] = run(sandbox, [job(case(probe), case(PID))])
    assert result.status == Status.FINISHED
    assert result.outcomes[0]["error"]["type"] == "MemoryError"
    assert isinstance(result.outcomes[1]["value"], int)


def test_a_child_runs_as_a_user_of_its_own_when_users_are_separate(sandbox, spawns):
    probe = "def probe():\n    import os\n    return [os.getuid(), os.getgid(), os.getgroups()]\n"
    sandbox.separate_users = True
    try:
        [result] = run(sandbox, [job(case(probe))])
    finally:
        sandbox.separate_users = False
    uid = spawns[0]["limits"]["uid"]
    assert 200_000 <= uid < 2_000_000_000
    assert result.outcomes == {0: {"value": [uid, uid, []]}}
    assert result.enforced[0] == f"user id {uid} (its own)"


# --- phases, shared children, time limits --------------------------------------------------------

LINGER = """
def probe():
    import os, time
    for fd in range(3, 64):  # the pipes too: the grading process sees them close at once
        try:
            os.close(fd)
        except OSError:
            pass
    time.sleep(1.0)  # and this process lives on for a second
"""


def test_no_public_process_runs_beside_a_hidden_one(sandbox, spawns):
    """Every phase-0 child has exited before the phase-1 child starts, even one that closed its
    pipes a second before exiting."""
    jobs = [job(case(LINGER), cells=[cell("cell a")]),
            job(case(PID), cells=[cell("cell b")]),
            job(case(PID), cells=[cell("cell a")], phase=1)]
    started = time.monotonic()
    runs = run(sandbox, jobs, timeout=5)
    assert [r.status for r in runs] == [Status.CRASHED, Status.FINISHED, Status.FINISHED]
    public = {spawns.pid(0), spawns.pid(1)}
    hidden = next(s for s in spawns if s["job"] == 2)
    assert hidden["earlier_running"] == {pid: False for pid in public}
    assert hidden["at"] - started >= 1.0  # the lingering child was waited for
    assert runs[1].outcomes[0]["value"] == spawns.pid(1)
    assert runs[2].outcomes[0]["value"] == hidden["pid"] not in public


def test_jobs_needing_the_same_cells_share_a_child_each_with_its_own_time(sandbox, spawns):
    slow = "def probe():\n    import os, time\n    time.sleep(0.8)\n    return os.getpid()\n"
    jobs = [job(case(slow)), job(case(slow)), job(case(PID), cells=[CELL, cell("cell 2")])]
    runs = run(sandbox, jobs, timeout=1.5)
    assert [r.status for r in runs] == [Status.FINISHED] * 3  # 1.6 s in all: two clocks of 1.5 s
    pids = [r.outcomes[0]["value"] for r in runs]
    assert pids[0] == pids[1] != pids[2]
    assert sorted(s["pid"] for s in spawns) == sorted({pids[0], pids[2]})


def test_a_job_that_hangs_times_out_and_the_jobs_after_it_run_in_fresh_children(sandbox, spawns):
    """Four jobs needing the same cells share a child; the second hangs: it times out, and the
    two jobs after it go on, each in a fresh child of its own."""
    jobs = [job(case(PID)),
            job(case(PID), case("def probe():\n    while True:\n        pass\n"), case(PID)),
            job(case(PID)),
            job(case(PID))]
    runs = run(sandbox, jobs)
    assert [r.status for r in runs] == [Status.FINISHED, Status.TIMEOUT, Status.FINISHED,
                                        Status.FINISHED]
    assert runs[1].detail == f"timed out after {TIMEOUT:g} s"
    assert TIMEOUT <= runs[1].seconds < TIMEOUT + 1
    first = runs[0].outcomes[0]["value"]
    assert runs[1].outcomes == {0: {"value": first}}  # answered before it hung, in that child
    after = [runs[2].outcomes[0]["value"], runs[3].outcomes[0]["value"]]
    assert sorted(after + [first]) == sorted(s["pid"] for s in spawns)
    assert len({first, *after}) == 3


def test_with_one_worker_jobs_needing_other_cells_share_a_child_loading_in_notebook_order(
        one_worker, spawns):
    first = cell("cell first", "order = [1]\n", 1)
    third = cell("cell third", "order.append(3)\n", 3)
    probe = "def probe(order):\n    import os\n    return [order, os.getpid()]\n"
    runs = run(one_worker, [job(case(probe, ["order"]), cells=[third]),
                            job(case(probe, ["order"]), cells=[first])])
    assert [r.status for r in runs] == [Status.FINISHED] * 2
    assert [r.loaded for r in runs] == [[], []]
    [pid] = [s["pid"] for s in spawns]
    assert [r.outcomes[0]["value"] for r in runs] == [[[1, 3], pid]] * 2


def test_a_job_is_not_timed_out_by_the_cells_of_the_jobs_it_shares_a_child_with(one_worker):
    slow_a = cell("cell a", "import time\ntime.sleep(0.35)\n", 2)
    slow_b = cell("cell b", "import time\ntime.sleep(0.35)\n", 3)
    runs = run(one_worker, [job(case(PID), cells=[slow_a]), job(case(PID), cells=[slow_b]),
                            job(case(PID), cells=[slow_b], phase=1)], timeout=0.6)
    assert [r.status for r in runs] == [Status.FINISHED] * 3  # each alone loads in 0.35 s


def test_a_cell_that_hangs_while_loading_stops_the_jobs_that_need_it(one_worker, spawns):
    """With one worker the phase's jobs share a child, which hangs loading a cell: the jobs
    that need it time out, the other goes again on its own, and in a later phase a job that
    needs the cell is not started."""
    jobs = [job(case(PID), cells=[CELL, HANG]),
            job(case(PID), cells=[CELL]),
            job(case(PID), cells=[CELL, HANG], phase=1),
            job(case(PID), cells=[CELL], phase=1)]
    runs = run(one_worker, jobs)
    assert [r.status for r in runs] == [Status.TIMEOUT, Status.FINISHED, Status.SKIPPED,
                                        Status.FINISHED]
    assert (runs[0].loading, runs[0].loaded, runs[0].outcomes) == ("cell hang", None, {})
    assert runs[0].detail == f"timed out after {TIMEOUT:g} s"
    assert runs[2].detail == f"not run: cell hang did not finish running within {TIMEOUT:g} s"
    assert [s["job"] for s in spawns] == [0, 1, 3]  # both, then the other alone; phase 1
    assert runs[1].outcomes[0]["value"] == spawns[1]["pid"] != spawns[0]["pid"]
    assert runs[3].outcomes[0]["value"] == spawns[2]["pid"]


def test_nothing_runs_once_the_deadline_has_passed(sandbox, spawns):
    runs = run(sandbox, [job(case(PID)), job(case(PID), phase=1)], deadline=0.5)
    assert [(r.status, r.detail) for r in runs] == \
        [(Status.SKIPPED, "not run: the time for grading this submission ran out")] * 2
    assert spawns == []


# --- children that end, lie or flood -------------------------------------------------------------

CRASHES = {
    "exit_code": ("def probe():\n    import os\n    os._exit(3)\n",
                  "your code ended the grading process (exit code 3)"),
    "exit_zero": ("def probe():\n    import os\n    os._exit(0)\n",
                  "your code ended the grading process early (does it call exit(), quit() or "
                  "os._exit()?)"),
    "sigkill": ("def probe():\n    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n",
                "the grading process was stopped by SIGKILL (it may have run out of memory)"),
    "sigsegv": ("def probe():\n    import os, signal\n    os.kill(os.getpid(), signal.SIGSEGV)\n",
                "the grading process was stopped by SIGSEGV (a crash inside the process)"),
    "while_loading": ("def probe():\n    return 1\n",
                      "the grading process ended while cell exit was running (does it call "
                      "exit(), quit() or os._exit()?)"),
}


@pytest.mark.parametrize("name", CRASHES)
def test_a_child_that_ends_is_reported_crashed(sandbox, name):
    """A crashing job, then a job that needs the same cells (and so shares its child)."""
    probe, detail = CRASHES[name]
    cells = [cell(f"cell {name}")] if name != "while_loading" else \
        [cell("cell exit", "import os\nos._exit(0)\n")]
    result, after = run(sandbox, [job(case(probe), cells=cells), job(case(PID), cells=cells)])
    assert (result.status, result.detail) == (Status.CRASHED, detail)
    if name == "while_loading":  # the job after it needs the same cell, which ends the child
        assert (after.status, after.detail) == (Status.CRASHED, detail)
    else:  # the job after it goes on in a fresh child
        assert after.status == Status.FINISHED and isinstance(after.outcomes[0]["value"], int)


def test_system_exit_is_an_error_of_the_case_not_a_crash(sandbox):
    [result] = run(sandbox, [job(case("def probe():\n    raise SystemExit(2)\n"), case(PID))])
    assert result.status == Status.FINISHED
    assert result.outcomes[0]["error"]["type"] == "SystemExit"
    assert isinstance(result.outcomes[1]["value"], int)


def test_a_child_killed_by_a_real_time_signal_is_reported_crashed(sandbox, spawns):
    probe = "def probe():\n    import os\n    os.kill(os.getpid(), 40)\n"
    [result] = run(sandbox, [job(case(probe))])
    assert result.status == Status.CRASHED and "40" in result.detail


def _to_every_fd(frame):
    """A probe that writes `frame` (a bytes expression) to every descriptor it may have."""
    return f"""
    def probe():
        import os, json
        frame = {frame}
        for fd in range(64):
            try:
                os.write(fd, frame)
            except OSError:
                pass
        return 1
    """


def _frame(message):
    return (f"(lambda data: len(data).to_bytes(4, 'big') + data)"
            f"(json.dumps({message!r}).encode())")


@pytest.mark.parametrize("message", [
    {"case": 0, "nonce": "0" * 32, "outcome": {"value": 99}},
    {"case": 0, "outcome": {"value": 99}},
    {"loaded": []},
    {"confined": ["nothing"]},
], ids=["wrong nonce", "no nonce", "loaded", "confined"])
def test_a_forged_reply_makes_the_job_tampered(sandbox, message):
    [result, after] = run(sandbox, [job(case(_to_every_fd(_frame(message)))), job(case(PID))])
    assert result.status == Status.TAMPERED
    assert result.detail.startswith("the grading process stopped: it ")
    assert result.outcomes == {}
    assert after.status == Status.FINISHED  # the next job, in a fresh child


def test_a_forged_message_while_loading_makes_the_jobs_tampered(sandbox):
    forge = ("import json, os\ndata = json.dumps({'case': 0, 'nonce': 'x', 'outcome': {}}).encode()"
             "\nfor fd in range(64):\n    try:\n        os.write(fd, len(data).to_bytes(4, 'big')"
             " + data)\n    except OSError:\n        pass\n")
    runs = run(sandbox, [job(case(PID), cells=[cell("cell forge", forge)])] * 2)
    assert [r.status for r in runs] == [Status.TAMPERED] * 2
    assert runs[0].loaded is None and runs[0].outcomes == {}


def test_a_forged_reply_with_a_non_ascii_nonce_makes_the_job_tampered(sandbox):
    message = {"case": 0, "nonce": "é" * 32, "outcome": {"value": 99}}
    [result] = run(sandbox, [job(case(_to_every_fd(_frame(message))))])
    assert result.status == Status.TAMPERED


@pytest.mark.parametrize("frame, detail", [
    (f"({protocol.MAX_FRAME + 1}).to_bytes(4, 'big')",
     f"it sent a message of {protocol.MAX_FRAME + 1} bytes"),
    ("(5).to_bytes(4, 'big') + b'{nope'", "it sent unreadable output (JSONDecodeError)"),
], ids=["over MAX_FRAME", "undecodable"])
def test_a_flood_or_garbage_makes_the_job_garbled(sandbox, frame, detail):
    [result, after] = run(sandbox, [job(case(_to_every_fd(frame))), job(case(PID))])
    assert (result.status, result.detail) == (Status.GARBLED, f"the grading process stopped: "
                                                                f"{detail}")
    assert after.status == Status.FINISHED


def test_a_child_that_sends_more_than_max_total_is_garbled(sandbox):
    """Jobs sharing a child, each replying 2.0 MB of JSON (under MAX_FRAME): the job whose reply
    takes the child over MAX_TOTAL is garbled, the jobs before it finish, the one after it goes
    on in a fresh child."""
    big = "def probe():\n    return [1.2345678901234567] * 100_000\n"
    fit = protocol.MAX_TOTAL // (2 * 10**6)
    runs = run(sandbox, [job(case(big)) for _ in range(fit + 2)], timeout=5)
    assert [r.status for r in runs] == [Status.FINISHED] * fit + [Status.GARBLED, Status.FINISHED]
    assert runs[fit].detail == \
        f"the grading process stopped: it sent more than {protocol.MAX_TOTAL // 2**20} MB"
    assert all(len(r.outcomes[0]["value"]) == 100_000 for r in runs[:fit] + runs[fit + 1:])


def test_a_value_too_large_for_a_reply_is_an_error_of_that_case(sandbox):
    big = "def probe():\n    return [1.2345678901234567] * 200_000\n"  # 3.8 MB of JSON
    [result] = run(sandbox, [job(case(big), case(PID))])
    assert result.status == Status.FINISHED
    assert result.outcomes[0] == {"error": {"type": "", "text": UNREADABLE, "frames": []}}
    assert isinstance(result.outcomes[1]["value"], int)


@pytest.mark.parametrize("probe", [
    "x = torch.ones(2)\n    x.requires_grad_()",
    "torch.set_grad_enabled(True)",
    "with torch.enable_grad():\n        pass",
    "x = torch.ones(2)\n    x.requires_grad = True\n    (x * 2).sum().backward()",
    "x = torch.ones(2)\n    x.requires_grad = True\n    torch.autograd.grad((x * 2).sum(), [x])",
    "torch.func.grad(lambda v: (v * v).sum())(torch.ones(2))",
    "import torch.autograd.forward_ad as fwd\n    fwd.make_dual(torch.ones(1), torch.ones(1))",
], ids=["requires_grad_", "set_grad_enabled", "enable_grad", "backward", "autograd.grad",
        "func.grad", "forward_ad"])
def test_autograd_use_is_refused_as_an_error_of_its_case(sandbox, probe):
    """torch's autograd is switched off in a child: the case that calls it gets an
    AutogradRefused error (judged, and flagged for review, by the grading process), and the job
    goes on."""
    source = f"def probe():\n    {probe}\n    return 1\n"
    [result] = run(sandbox, [job(case(source), case(PID))])
    assert result.outcomes[0]["error"]["type"] == "AutogradRefused"
    frames = result.outcomes[0]["error"]["frames"]
    assert any(f[0] == "<probe>" and f[2] == "probe" for f in frames)  # raised where it is called
    assert isinstance(result.outcomes[1]["value"], int)  # the job went on
    assert (result.status, result.detail) == (Status.FINISHED, "")


def test_nothing_survives_a_run(sandbox, spawns):
    """Right after run(): no child is alive, nor anything in a child's session, whether its
    jobs finished, timed out, crashed, lied or flooded."""
    forged = _frame({"case": 0, "nonce": "0" * 32, "outcome": {"value": 99}})
    jobs = [job(case(PID), cells=[cell("cell a")]),
            job(case("def probe():\n    while True:\n        pass\n"), cells=[cell("cell b")]),
            job(case("def probe():\n    import os\n    os._exit(3)\n"), cells=[cell("cell c")],
                phase=1),
            job(case(_to_every_fd(forged)), cells=[cell("cell d")], phase=1),
            job(case(_to_every_fd(f"({protocol.MAX_FRAME + 1}).to_bytes(4, 'big')")),
                cells=[cell("cell e")], phase=2)]
    runs = run(sandbox, jobs)
    assert [r.status for r in runs] == [Status.FINISHED, Status.TIMEOUT, Status.CRASHED,
                                        Status.TAMPERED, Status.GARBLED]
    assert len(spawns) == 5
    assert spawns.survivors() == []


# --- the zygote ----------------------------------------------------------------------------------

def test_a_killed_zygote_is_replaced_by_a_fresh_one(spawns):
    box = Sandbox(workers=1)
    try:
        old = box.zygote.pid
        [result] = run(box, [job(case(PID))])
        assert result.status == Status.FINISHED
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while box.zygote.alive and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not box.zygote.alive
        [result] = run(box, [job(case(PID))], deadline=60)
        assert (result.status, result.detail) == (Status.FINISHED, "")
        assert box.zygote.pid != old and box.zygote.process is not None  # a new interpreter
        assert result.outcomes[0]["value"] == spawns[-1]["pid"]
    finally:
        box.close()
    assert _stat(box.zygote.pid) is None


def test_a_zygote_that_does_not_answer_costs_its_jobs_not_the_grading(monkeypatch):
    """A zygote stopped in its tracks: starting a child gives up after SPAWN_WAIT, and the jobs
    say why; every descriptor the start opened is closed again."""
    monkeypatch.setattr(zygote_module, "SPAWN_WAIT", 0.5)
    box = Sandbox(workers=1)
    try:
        os.kill(box.zygote.pid, signal.SIGSTOP)
        fds = len(os.listdir("/proc/self/fd"))
        [result] = run(box, [job(case(PID))])
        assert result.status == Status.CRASHED
        assert "the zygote started no child within 0.5 s" in result.detail
        assert len(os.listdir("/proc/self/fd")) == fds
    finally:
        os.kill(box.zygote.pid, signal.SIGCONT)
        box.close()


def test_spawn_wants_two_pipe_ends(sandbox):
    read_fd, write_fd = os.pipe()
    try:
        with pytest.raises(ZygoteGone, match="two pipe ends were expected"):
            sandbox.zygote.spawn(99, {"memory_mb": MEMORY_MB, "cpu_seconds": 5, "uid": None},
                                 [read_fd])
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert sandbox.zygote.alive


def test_a_child_spawned_by_hand_reports_its_exit(sandbox, spawns):
    """spawn() -> pid; the child speaks first ("confined"); wait_exit() gives its exit code."""
    requests_r, requests_w = os.pipe()
    replies_r, replies_w = os.pipe()
    try:
        pid = sandbox.zygote.spawn(7, {"memory_mb": MEMORY_MB, "cpu_seconds": 5, "uid": None},
                                   [requests_r, replies_w])
        os.close(requests_r)
        os.close(replies_w)
        reader, messages, deadline = protocol.Reader(replies_r), [], time.monotonic() + 5
        while not messages and time.monotonic() < deadline:
            messages = reader.pump()
            time.sleep(0.01)
        assert protocol.check_confined(messages[0])[-1].startswith("audit hook: installed")
        assert sandbox.zygote.wait_exit(pid, 0.2) is None  # still waiting for its job
        os.close(requests_w)  # no job: the child ends
        assert sandbox.zygote.wait_exit(pid, EXIT_WAIT) == 0
        assert sandbox.zygote.wait_exit(pid, 0.1) is None  # reported once
    finally:
        for fd in (requests_w, replies_r):
            try:
                os.close(fd)
            except OSError:
                pass


def test_the_zygote_dies_with_its_parent():
    """A process that forked a zygote and spawned a child from it dies: the zygote is killed
    (PR_SET_PDEATHSIG; its socket stays open in another process, so this is not the zygote
    leaving on EOF), and the child with it."""
    libc = __import__("ctypes").CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans come to us, to be reaped
    read_fd, write_fd = os.pipe()
    holder = None
    try:
        middle = os.fork()
        if middle == 0:
            try:
                os.close(read_fd)
                zygote = Zygote()
                requests_r, requests_w = os.pipe()
                replies_r, replies_w = os.pipe()
                child = zygote.spawn(0, {"memory_mb": MEMORY_MB, "cpu_seconds": 5, "uid": None},
                                     [requests_r, replies_w])
                os.close(replies_w)
                os.read(replies_r, 4)  # it is confined: it dies with the zygote from now on
                holder = os.fork()  # keeps the zygote's socket and the child's pipes open
                if holder == 0:
                    time.sleep(30)
                    os._exit(0)
                os.write(write_fd, f"{zygote.pid} {child} {holder}".encode())
            finally:
                os._exit(0)
        os.close(write_fd)
        zygote_pid, child_pid, holder = map(int, os.read(read_fd, 100).split())
        os.waitpid(middle, 0)
        for pid in (zygote_pid, child_pid):
            _, status = os.waitpid(pid, 0)  # reparented to us; returns once it died
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    finally:
        os.close(read_fd)
        if holder:
            os.kill(holder, signal.SIGKILL)
            os.waitpid(holder, 0)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def test_a_closed_zygote_is_gone():
    zygote = Zygote()
    pid = zygote.pid
    assert zygote.alive
    zygote.close()
    assert not zygote.alive and _stat(pid) is None
    with pytest.raises(OSError):
        socket.send_fds(zygote.socket, [b"x"], [])
