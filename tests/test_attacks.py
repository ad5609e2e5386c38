"""The sandbox under attack (tests/adversarial.py), beyond each submission's own scores: nothing
escapes, nothing survives, nothing leaks, results stay small, and the same holds through every
entry point: the batch, the zip's Gradescope run script, one submission after another in one
worker, and Otter's own `otter run`."""

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from adversarial import ESCAPED, GRADIENTS, SECRET, build
from conftest import ROOT, TEST_LIMITS, scores
from notebooks import POINTS, load, reference_main

from grader.classroom import batch

GRADER_FILES = sorted((ROOT / "grader").rglob("*.py"))


def _fingerprint():
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in GRADER_FILES}


BEFORE = _fingerprint()
SCRATCH_BEFORE = set(Path("/tmp").glob("backprop-child-*"))  # left by an earlier, killed run


def _escaped():
    return sorted(str(p) for p in Path(ESCAPED).parent.glob(Path(ESCAPED).name + "*"))


def _lingering():
    """Processes still running in a child's scratch folder."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if "backprop-child-" in cwd:
                found.append((entry, cwd))
    return found


def test_nothing_escapes_the_sandbox(attacked):
    assert _escaped() == []
    assert _fingerprint() == BEFORE, "a submission changed the grader's own files"


def test_no_process_or_scratch_folder_outlives_grading(attacked):
    assert _lingering() == []
    assert set(Path("/tmp").glob("backprop-child-*")) <= SCRATCH_BEFORE


def test_results_stay_small(attacked):
    for name, graded in attacked.items():
        for what, text in [("results.json", json.dumps(graded.results)),
                           ("sealed.json", json.dumps(graded.report.to_json())),
                           ("output", graded.output)]:
            assert len(text) < 2 * 2**20, (name, what, len(text))


def test_grading_stays_in_its_bound(attacked):
    limit = TEST_LIMITS["submission_timeout"] + 2 * TEST_LIMITS["step_timeout"] + 5
    for name, graded in attacked.items():
        seconds = re.search(r"Graded in ([\d.]+) s", graded.output)
        assert seconds is None or float(seconds.group(1)) < limit, (name, seconds.group(1))
    assert all(re.search(r"Graded in", graded.output) for name, graded in attacked.items()
               if graded.report.error is None), "a submission graded without its timing"


def test_the_graders_environment_does_not_reach_student_code(attacked):
    graded = attacked["environment"]
    text = json.dumps(graded.results) + json.dumps(graded.report.to_json())
    assert "RuntimeError" in text          # the attack ran and reported what it saw
    assert SECRET not in text


def test_a_public_message_shows_no_hidden_input(attacked):
    """Cases reach a child one at a time, public first: the public case of step 1, the first
    one to run, has seen only its own leaf."""
    cases = {c.name: c for q in attacked["leak_inputs"].report.questions for c in q.cases}
    message = cases["cosh at log2"].message
    assert "seen: 0.6931471805599453" in message and "|" not in message.split("\n")[0]


def test_tampering_is_reported_to_staff(attacked):
    """A reply the harness did not write stops its question as tampered; a call of torch's
    autograd is refused, fails the cases that make it with the message the notebook gives
    too, and is flagged for review."""
    for name in ["forge_replies_on_load", "forge_reply_in_probe"]:
        report = attacked[name].report
        assert "tampered" in report.flags, (name, report.flags)
        assert any(q.status == "tampered" for q in report.questions)
    review = attacked["autograd_engine"].report.flags["review"]
    assert any("called torch's autograd (refused)" in d for d in review), review
    assert any("torch autograd" in d for d in review), review   # the static scan


def test_each_submission_in_one_worker_is_graded_on_its_own(built, tmp_path):
    """Attackers first, then a blank and a correct victim, one after another in one worker:
    the victims score what their own code deserves."""
    template, zip_path, solution = built
    engine = reference_main(solution)
    order = ["patch_installed_grader", "survive_the_check", "spawn_and_copy"]
    entries = [batch.Entry(name, build(name, load(template), engine, tmp_path / name))
               for name in order]
    blank = tmp_path / "blank" / template.name
    blank.parent.mkdir()
    blank.write_bytes(template.read_bytes())
    correct = build("huge_print", load(template), engine, tmp_path / "correct")
    entries += [batch.Entry("blank", blank), batch.Entry("correct", correct)]
    batch.grade_all(entries, zip_path, tmp_path / "out", workers=1)
    assert set(scores(batch.load(tmp_path / "out" / "blank")).values()) == {0}
    graded = batch.load(tmp_path / "out" / "correct")
    assert scores(graded) == POINTS
    assert _escaped() == [] and _lingering() == []


def _run_autograder(zip_path, submission, root):
    """The zip's own run_autograder script, with /autograder moved to `root`."""
    for part in ("source", "submission", "results"):
        (root / part).mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    (root / "submission" / submission.name).write_bytes(submission.read_bytes())
    script = (root / "source" / "run_autograder").read_text()
    script = script.replace("/autograder", str(root))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    subprocess.run(["bash", "-c", script], env=env, capture_output=True, timeout=300)
    return json.loads((root / "results" / "results.json").read_text())


def test_gradescope_run_script_gives_zero_and_a_results_file(built, tmp_path):
    """Through the zip's own run script: a forged reply, a shipped `grader` package, and a
    notebook whose JSON nests too deeply each get a results file and zero."""
    from concurrent.futures import ThreadPoolExecutor

    template, zip_path, solution = built
    names = ["forge_replies_on_load", "grader_package_in_zip", "deeply_nested_json"]
    submissions = [build(name, load(template), reference_main(solution), tmp_path / name)
                   for name in names]
    with ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(lambda args: _run_autograder(zip_path, *args),
                                [(s, tmp_path / f"autograder-{n}")
                                 for n, s in zip(names, submissions)]))
    for name, result in zip(names, results):
        assert result["score"] == 0 and result["tests"], name
    assert _escaped() == []


def _hidden_probe_lines(zip_path):
    """The distinctive source lines of every hidden case's probe, from the zip's test files."""
    import ast

    lines = set()
    with zipfile.ZipFile(zip_path) as zf:
        for item in zf.namelist():
            if not (item.startswith("tests/") and item.endswith(".py")):
                continue
            source = zf.read(item).decode()
            for node in ast.parse(source).body:
                hidden = isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and any(k.arg == "hidden" and getattr(
                        k.value, "value", False) for k in d.keywords)
                    for d in node.decorator_list)
                for inner in ast.walk(node) if hidden else ():
                    if isinstance(inner, ast.FunctionDef) and inner.name == "probe":
                        lines |= {line.strip() for line in ast.get_source_segment(
                            source, inner).splitlines() if len(line.strip()) > 25}
    return lines


def test_no_hidden_probe_source_reaches_the_feedback(attacked, built):
    """Feedback quotes student code only: no line of a hidden probe is in any results file,
    whatever the submission planted (a linecache entry pointing at the probe, among others)."""
    _, zip_path, _ = built
    lines = _hidden_probe_lines(zip_path)
    assert len(lines) > 20
    for name, graded in attacked.items():
        text = json.dumps(graded.results) + json.dumps(graded.report.to_json())
        leaked = [line for line in lines if line in text or json.dumps(line)[1:-1] in text]
        assert not leaked, (name, leaked[:3])


def test_no_process_that_saw_a_hidden_case_ran_beside_a_public_one(attacked):
    """The public cosh case listens on a lock that every other case of the submission holds
    for a while: it hears nothing, because no other child of the submission is running."""
    cases = {c.name: c for q in attacked["lock_channel"].report.questions for c in q.cases}
    heard = re.search(r"heard: ([01]+)", cases["cosh at log2"].message)
    assert heard and len(heard.group(1)) > 20, cases["cosh at log2"].message
    assert "1" not in heard.group(1)


def test_gradients_without_backpropagation_earn_nothing(attacked):
    """Complex-step differentiation of the forward pass, and torch autograd in a thread of its
    own, give the derivatives of the forward pass: the grader's own nodes declare others."""
    for name in ["complex_step", "autograd_in_a_thread", "finalizer_frames"]:
        got = scores(attacked[name])
        assert all(got[step] == 0 for step in GRADIENTS), (name, got)


def test_a_hostile_reply_keeps_the_judge_small(built, tmp_path):
    """Values shaped to broadcast into a 9000 x 9000 tensor are refused for their shape before
    any arithmetic: through the zip's entry point, no process of grading grows past 600 MB
    (measured by a parent of its own, which waits for every process of the run)."""
    template, zip_path, solution = built
    submission = build("broadcast_reply", load(template), reference_main(solution),
                       tmp_path / "submission")
    root = tmp_path / "autograder"
    for part in ("source", "submission", "results"):
        (root / part).mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    (root / "submission" / submission.name).write_bytes(submission.read_bytes())
    measure = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", measure, sys.executable, "-I", "-m",
                           "grader.gradescope", str(root)], capture_output=True, text=True,
                          timeout=300)
    peak_mb = int(done.stdout.strip().splitlines()[-1]) / 1024
    result = json.loads((root / "results" / "results.json").read_text())
    assert result["tests"] and result["score"] > 0
    assert peak_mb < 600, peak_mb
