"""Student personas (tests/personas.py), each played as a student plays the notebook and graded as
Gradescope grades it; what the notebook said must be what Gradescope gives.

Every persona's notebook runs once, "Restart & Run All" in a kernel that has only otter-grader and
torch (tests/kernels.py), one kernel per persona, several at once, in a folder that holds only the
notebook (in Colab: no file at all; "elsewhere": the kernel starts in another folder, as Jupyter
Server can start it; "no-matplotlib": a kernel whose Python lacks matplotlib, where the first cell
installs it from a local index that serves a stand-in). What each `grader.check` cell said is kept
where it ran. The same notebooks are graded, all at once, through the zip's Gradescope entry
point (the `grade_all` fixture), while the kernels run (`played`, tests/slow_inputs.py). The
export cell, which only runs every check once more, is left out but for the correct notebook
(tests/test_student_notebook.py submits what it exports).

Then, for every persona:
1. every case that loses points on Gradescope was announced in the notebook: a public case of the
   same question failed there for the same cause (each hidden case is mapped to its public
   counterpart below, by the reference notebook's names); for answers, the notebook's answer
   check said "correctness is graded after you submit" for that answer, or failed naming it as
   unreadable, unanswered, or with the same error;
2. every public case gives the same verdict and the same message in the notebook as in sealed
   grading (grading may add why a name is not defined: the cell meant to define it raised, an
   error the notebook showed in that cell's own output);
3. no message carries Otter's noise, and an error in provided code names that code by the heading
   of its cell, with the "called from" line of the student's cell;
4. the fixes the issue asked for hold, persona by persona.
Last, the graph picture and a student's hostile text, as the notebook showed them and as
Gradescope's results.json has them, rendered in headless chromium.

Where the two differ by design (BY_DESIGN below), the test says why instead of comparing.
"""

import html
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from browser import CHROMIUM, MISSING, WIDTH, chromium, probe_script, probed
from kernels import FAILED, NOISE, errors, kernel_python, text
from notebooks import ANSWER_QUESTIONS, ENGINE_STEPS, POINTS, QUESTIONS, REFERENCE, load
from personas import HOSTILE, PERSONAS
from slow_inputs import SHOWN, STANDIN

# Every hidden case of the reference notebook, by question, and the public case that demands the
# same thing of the student (the reference notebook's test names, without "test_"). A hidden
# answer case is named by its answer; its public counterpart is the answer check.
COUNTERPART = {
    "paper_calculus": {"dz_dx_formula": "answers_are_readable"},
    "paper_forward": {f"fwd_{v}": "answers_are_readable" for v in "abcdez"},
    "paper_backward": {f"dz_d{v}": "answers_are_readable" for v in "zedcbax"},
    "step1_forward": {
        "every_node_of_cosh": "cosh_at_log2",
        "each_node_once_per_pass_in_a_chain": "each_node_once_per_pass",
        "results_follow_new_inputs_elsewhere": "results_follow_new_inputs",
        "inputs_before_users_uneven": "inputs_before_users"},
    "step2_backward": {
        "every_gradient_of_cosh": "sinh_at_log2",
        "gradients_add_up_over_many_paths": "gradients_add_up_over_paths",
        "backward_once_per_node_in_a_chain": "backward_once_per_node",
        "outputs_before_inputs_uneven": "outputs_before_inputs"},
    "step3_add_mul": {
        "mul_and_add": "tanh_at_log2",
        "each_node_once_in_tanh": "each_node_once_with_shared_nodes",
        "doubling_and_squaring_deeper": "doubling_and_squaring",
        "expressions_elsewhere": "expressions"},
    "step4_tensors": {
        "random_polynomials": "polynomial_on_linspace",
        "one_starts_the_backward_pass_float32": "one_starts_the_backward_pass",
        "elementwise_graph_float32": "elementwise_graph"},
    "step5_higher_order": {
        "random_polynomial_derivatives": "polynomial_derivatives_on_linspace",
        "backward_twice_elsewhere": "backward_twice_on_one_graph",
        "product_of_polynomials": "derivatives_through_a_grader_node"},
    "step6_matmul": {
        "rectangular_product": "matmul_against_pytorch",
        "reused_product_elsewhere": "reused_product",
        "chain_of_products_float32": "chain_of_products",
        "squared_loss_rectangular": "matmul_against_pytorch"},
    "bigo_time": {n: "answers_are_readable" for n in
                  ("T_run", "T_forward", "T_backward", "T_backward_W1")},
    "bigo_memory": {n: "answers_are_readable" for n in
                    ("M_run", "M_forward", "M_backward", "M_backward_W1")},
}
GRADED_LATER = "correctness is graded after you submit"
PROVIDED = re.compile(r"the provided code in the cell under '([^']+)'")


def case_name(name):
    """A reference test's name as grading reports it ("every_node_of_cosh" -> "every node of
    cosh")."""
    return name.replace("_", " ")


# ---- reading what each side said ----------------------------------------------------------------

def sealed_cases(played, question):
    entry = next(q for q in played.graded.report.questions if q.name == question)
    return entry.cases


def notebook_public(played, question):
    """[(case, passed, message)] of the public cases as the notebook's check cell said them, named
    by the sealed grader's names (the notebook numbers them in the same order)."""
    public = [c for c in sealed_cases(played, question) if not c.hidden]
    found = played.checks.get(question)
    assert isinstance(found, list), f"the check of {question} did not run: {found!r}"
    assert len(found) == len(public), (question, found)
    return [(case.name, passed, message) for case, (_, passed, message) in zip(public, found)]


def without_prefix(message):
    assert message.startswith(FAILED), message
    return message[len(FAILED):]


def check_cell(played, question):
    return next(c for c in played.executed.cells if c.cell_type == "code"
                and c.source.strip() == f'grader.check("{question}")')


def answer_line(message, name):
    """The line of an answer check's message about `name`."""
    lines = [line.strip() for line in message.splitlines()
             if line.strip().startswith(f"{name}:")]
    return lines[0] if lines else ""


def cause(message):
    """Why a case failed, read from its message as the student reads it: an error (and which),
    a name not defined, a check stopped (and why), or wrong values. A hidden case and its public
    counterpart fail for the same cause when these agree."""
    message = message.removeprefix(FAILED)
    if re.search(r"\b(?:is|are) not defined\b", message.split("\n")[0].split(": ")[0]):
        return ("not defined",)   # grading may add why: the cell meant to define it raised
    raised = re.search(r"(?:^|: )Your code raised (\w+)", message)
    if raised:
        return ("error", raised.group(1))
    stopped = re.search(r"was stopped: (.*?)[.,]|timed out", message)
    if stopped:
        return ("stopped", stopped.group(0))
    return ("wrong",)


def answer_announced(played, question, name, hidden):
    """Whether the notebook's answer check announced what grading found of answer `name`: a
    right-looking answer that is wrong was "graded after you submit"; an answer that cannot be
    read, or is missing, was named with the very words of the hidden case; an error was named."""
    (_, passed, message), = notebook_public(played, question)
    line = answer_line(message if not passed else text(check_cell(played, question)), name)
    if cause(hidden.message) == ("not defined",):
        return not passed and cause(message) == ("not defined",) and \
            re.search(rf"\b{name}\b", message.split(" not defined")[0]) is not None
    if cause(hidden.message)[0] == "error":
        return not passed and cause(message) == cause(hidden.message)
    if hidden.kind == "wrong":
        return GRADED_LATER in line
    if hidden.kind in ("unreadable", "unanswered"):
        return not passed and line == hidden.message
    return False


# ---- 1. every point lost was announced ----------------------------------------------------------

# Where the notebook and grading differ by design, not by fault: (test, persona): why.
BY_DESIGN = {
    ("agree", "helper_in_a_cell_at_the_end"):
        "a helper defined in a cell below the checks: 'Restart & Run All' runs each check where "
        "its cell stands, before the helper is defined, and fails it; grading runs every check "
        "after the student's cells, so the engine earns its points (no point is lost unannounced)",
}


def personas(test):
    return [name for name in PERSONAS if (test, name) not in BY_DESIGN]


@pytest.mark.parametrize("name", personas("announced"))
def test_every_point_lost_was_announced_in_the_notebook(played, name):
    me = played[name]
    unannounced = []
    for question in QUESTIONS:
        cases = sealed_cases(me, question)
        public = {c.name: c for c in cases if not c.hidden}
        in_notebook = {case: (passed, message)
                       for case, passed, message in notebook_public(me, question)}
        for case in cases:
            if case.passed or case.points == 0:
                continue
            if not case.hidden:
                counterpart = case
            else:
                key = next(k for k in COUNTERPART[question] if case_name(k) == case.name)
                counterpart = public[case_name(COUNTERPART[question][key])]
                if question in ANSWER_QUESTIONS:
                    if not answer_announced(me, question, key, case):
                        unannounced.append((question, case.name, case.message,
                                            in_notebook[counterpart.name]))
                    continue
            passed, message = in_notebook[counterpart.name]
            if passed or cause(message) != cause(case.message):
                unannounced.append((question, case.name, case.message,
                                    (counterpart.name, passed, message)))
    assert not unannounced, "\n\n".join(map(repr, unannounced))


def test_every_hidden_case_has_its_public_counterpart():
    """The map above is the reference notebook's: every hidden case, and only those, mapped to a
    public case of the same question."""
    reference = load(REFERENCE)
    question, found = None, {}
    for cell in reference.cells:
        named = re.search(r"^# BEGIN QUESTION\s*\nname: (\w+)", cell.source, re.M)
        if cell.cell_type == "raw" and named:
            question = named.group(1)
        test = re.search(r"^def test_(\w+)\(env\):", cell.source, re.M)
        if cell.cell_type == "code" and test:
            hidden = re.search(r"^hidden: (\w+)", cell.source, re.M).group(1) == "true"
            found.setdefault(question, {})[test.group(1)] = hidden
    assert list(found) == QUESTIONS == list(COUNTERPART)
    for question, tests in found.items():
        assert set(COUNTERPART[question]) == {t for t, hidden in tests.items() if hidden}, question
        public = {t for t, hidden in tests.items() if not hidden}
        assert set(COUNTERPART[question].values()) <= public, question
        if question in ENGINE_STEPS:   # each public case stands for at least one hidden case
            assert set(COUNTERPART[question].values()) == public, question


# ---- 2. the notebook and sealed grading agree ---------------------------------------------------

def same_message(notebook, sealed):
    """The same words, or the same "<names> are not defined:" where grading adds that the cell
    meant to define them raised (the notebook showed that error in the cell's own output)."""
    if notebook == sealed:
        return True
    names = re.match(r"(.* (?:is|are) not defined): ", notebook)
    return bool(names) and sealed.startswith(names.group(1) + ": ") and " raised an error" in sealed


@pytest.mark.parametrize("name", personas("agree"))
def test_public_cases_say_the_same_in_the_notebook_and_on_gradescope(played, name):
    me = played[name]
    differ = []
    for question in QUESTIONS:
        public = [c for c in sealed_cases(me, question) if not c.hidden]
        shown = text(check_cell(me, question))
        for (case, passed, message), sealed in zip(notebook_public(me, question), public):
            if passed != sealed.passed:
                differ.append((question, case, "notebook", passed, message, "gradescope",
                               sealed.passed, sealed.message))
            elif not passed and not same_message(without_prefix(message), sealed.message):
                differ.append((question, case, "notebook", without_prefix(message),
                               "gradescope", sealed.message))
            elif passed and sealed.message != "passed" and sealed.message not in shown:
                differ.append((question, case, "notebook printed", shown,
                               "gradescope", sealed.message))
    assert not differ, "\n\n".join(map(repr, differ))


@pytest.mark.parametrize("name", personas("deserves"))
def test_gradescope_gives_what_the_persona_deserves(played, name):
    scores = played[name].graded.report.scores()
    assert played[name].graded.report.error is None
    got = {q: score for q, (score, _) in scores.items()}
    assert got == {q: PERSONAS[name].expect.get(q, POINTS[q]) for q in QUESTIONS}


# ---- 3. messages free of Otter's noise; errors in provided code named as such -------------------

def all_messages(me):
    """(where, message) of every case: in the notebook (check cells' text), on Gradescope."""
    for question in QUESTIONS:
        for case, passed, message in notebook_public(me, question):
            yield f"notebook {question}: {case}", message
        yield f"notebook {question}: the check cell", text(check_cell(me, question))
        for case in sealed_cases(me, question):
            yield f"gradescope {question}: {case.name}", case.message
    for test in me.graded.results["tests"]:   # as Gradescope shows the HTML: its text
        yield (f"results.json {test['name']}",
               html.unescape(re.sub(r"<[^>]+>", "", test.get("output", ""))))


@pytest.mark.parametrize("name", list(PERSONAS))
def test_messages_carry_no_otter_noise(played, name):
    noisy = [(where, message) for where, message in all_messages(played[name])
             if NOISE.search(message) or re.search(r"\bgrader\.|_hw_public_checks|<public tests",
                                                   message.replace('grader.check("', ""))]
    assert not noisy, noisy


@pytest.mark.parametrize("name", list(PERSONAS))
def test_errors_in_provided_code_name_the_cell_and_the_call(played, name):
    for where, message in all_messages(played[name]):
        assert "your cell starting `# Do not change" not in message, (where, message)
        for line in [m for m in message.splitlines() if "provided code" in m]:
            assert PROVIDED.search(line), (where, message)
        if PROVIDED.search(message) and "Your code raised" in message:
            assert re.search(r"\n\s*called from .*your `# MAIN CODE` cell", message), \
                (where, message)


# ---- 4. the persona-specific fixes --------------------------------------------------------------

def public_message(me, question, case):
    return next(m for c, p, m in notebook_public(me, question) if c == case)


def test_never_resetting_is_told_to_reset(played):
    me = played["backward_never_resets"]
    message = public_message(me, "step5_higher_order", "backward twice on one graph")
    assert "reset every gradient at the start of backward_algorithm" in message, message
    assert "every path" not in message and "paths" not in message, message
    hidden = next(c for c in sealed_cases(me, "step5_higher_order")
                  if c.name == "backward twice elsewhere")
    assert "reset every gradient" in hidden.message


def test_every_unreadable_answer_is_named_at_once(played):
    me = played["several_unreadable_answers"]
    (_, passed, message), = notebook_public(me, "bigo_memory")
    assert not passed
    for name in ("M_forward", "M_backward", "M_backward_W1"):
        line = answer_line(message, name)
        assert line and GRADED_LATER not in line and "No answer yet" not in line, (name, message)
    assert GRADED_LATER in answer_line(message, "M_run"), message


def test_prose_is_not_read_as_a_formula(played):
    me = played["same_as_T_run"]
    (_, passed, message), = notebook_public(me, "bigo_time")
    line = answer_line(message, "T_forward")
    assert not passed and line.startswith("T_forward: Could not read as a formula"), message
    assert "No answer yet" not in message
    hidden = next(c for c in sealed_cases(me, "bigo_time") if c.name == "T forward")
    assert hidden.message.startswith("T_forward: Could not read as a formula"), hidden.message


@pytest.mark.parametrize("name", ["answers_in_boxes", "backward_never_resets"])
def test_answers_outside_the_answer_cells_are_read_in_the_notebook(played, name):
    me = played[name]
    for question in ANSWER_QUESTIONS:
        (_, passed, _), = notebook_public(me, question)
        shown = text(check_cell(me, question))
        assert passed and "Every answer is filled in and can be read" in shown, (question, shown)
        assert "No answer yet" not in shown
    flags = me.graded.report.flags
    assert ("answers from boxes" if name == "answers_in_boxes" else "answers from display math") \
        in flags


def test_a_name_used_before_its_import_fails_alike(played):
    """`fwd_a = math.log(2)` above the cell that imports math: Run All raises NameError in that
    cell, whose answers the check then finds undefined; grading, which runs the cells in
    notebook order too, fails them alike and says which error the cell raised."""
    me = played["math_before_import"]
    answer_cell = next(c for c in me.executed.cells if c.source.startswith("# Give each value"))
    assert "NameError" in text(answer_cell)   # where Run All stopped
    (_, passed, message), = notebook_public(me, "paper_forward")
    assert not passed and "fwd_a" in message and "not defined" in message, message
    for case in sealed_cases(me, "paper_forward"):
        assert not case.passed and "NameError" in case.message, (case.name, case.message)
        assert "math" in case.message and case.message.count("raised an error") == 1


def test_the_first_cell_works_from_another_folder(played):
    me = played["same_as_T_run"]
    first = next(c for c in me.executed.cells if c.source.startswith("# Initialize Otter"))
    assert not any(o.output_type == "error" for o in first.outputs), text(first)
    assert f"Working in {me.folder}" in text(first), text(first)
    assert (me.folder / "tests" / "step1_forward.py").exists()
    assert not errors(me.executed), errors(me.executed)
    assert all(isinstance(me.checks.get(q), list) for q in QUESTIONS), me.checks


def test_no_provided_cell_fails_without_matplotlib(played, kernel_without_matplotlib):
    """matplotlib is not in the kernel's Python (not linked into its site-packages); the first
    cell installs it (IPython's %pip note), from the local index's stand-in, and the provided
    plotting cells of steps 4 and 5 run."""
    me = played["wrong_M_backward"]
    assert not errors(me.executed), errors(me.executed)
    first = next(c for c in me.executed.cells if c.source.startswith("# Initialize Otter"))
    assert "you may need to restart the kernel to use updated packages" in text(first), \
        text(first)
    site = next(kernel_python(kernel_without_matplotlib).parents[1].glob(
        "lib/python*/site-packages"))
    assert not (site / "matplotlib").is_symlink() and (site / "torch").is_symlink()
    assert "keeps the calls" in (site / "matplotlib" / "pyplot.py").read_text()
    assert (site / f"matplotlib-{STANDIN}.dist-info").is_dir()
    plots = [c for c in me.executed.cells if "plt.show()" in c.source]
    assert len(plots) == 2 and all(SHOWN in text(c) for c in plots), [text(c) for c in plots]


def test_an_error_in_provided_code_is_placed_alike(played):
    """The issue's case: the notebook named the provided cell "your cell starting # Do not
    change" and lacked the line that leads back to the student's cell."""
    me = played["error_in_provided_code"]
    (_, passed, message), *_ = notebook_public(me, "step4_tensors")
    assert not passed
    assert re.search(r"in backward \(line \d+ of the provided code in the cell under "
                     r"'Exercise 2\.2: implement backpropagation in code'\): "
                     r"return \[self\.gradient\.expand", message), message
    assert re.search(r"\n  called from backward_algorithm \(line \d+ of your `# MAIN CODE` "
                     r"cell\): ", message), message
    sealed = [c for c in sealed_cases(me, "step4_tensors") if not c.hidden][0]
    assert without_prefix(message) == sealed.message


@pytest.mark.parametrize("name", personas("cells named"))
def test_messages_name_cells_as_the_student_knows_them(played, name):
    """No message names a cell by the grader's own label for it ("<cell 8: ...>")."""
    labelled = [(where, message) for where, message in all_messages(played[name])
                if re.search(r"<cell \d+:", message)]
    assert not labelled, labelled


# ---- the graph picture and a student's hostile text, in a real browser --------------------------

# Added to the test page only (tests/browser.py): what it measures of every graph.
PROBE = probe_script("""
  const svgs = [...document.querySelectorAll("svg")].map(svg => {
    const box = svg.getBoundingClientRect();
    const firsts = [...svg.querySelectorAll("g[data-first]")].map(g => {
      const style = getComputedStyle(g.querySelector("rect"));
      return {strokeWidth: parseFloat(style.strokeWidth), stroke: style.stroke,
              label: [...g.querySelectorAll("text")].some(t => t.textContent == "first wrong"),
              text: [...g.querySelectorAll("text")].map(t => t.textContent).join(" | ")};
    });
    return {title: svg.getAttribute("aria-label"), width: box.width, height: box.height,
            left: box.left, right: box.right, top: box.top + window.scrollY,
            nodes: svg.querySelectorAll("g[data-node]").length, firsts};
  });
  Object.assign(found, {svgs, scripts: document.scripts.length, images: document.images.length,
                        text: document.body.innerText});""")
PICTURED = ("backward_along_every_path", "step2_backward")   # a check whose graph is drawn
HOSTILE_AT = ("forward_without_memo", "step6_matmul")        # a check with the student's HTML


def notebook_html(played, name, question):
    """The check cell's HTML outputs, in order, as the notebook shows them."""
    cell = check_cell(played[name], question)
    return [o.data["text/html"] for o in cell.outputs
            if o.output_type in ("display_data", "execute_result") and "text/html" in o.data]


def gradescope_html(played, name, entries):
    """The HTML outputs of results.json's entries named `entries`, as Gradescope shows them."""
    tests = {t["name"]: t for t in played[name].graded.results["tests"]}
    for entry in entries:
        assert tests[entry]["output_format"] == "html", tests[entry]
    return [tests[entry]["output"] for entry in entries]


def page(title, fragments, probe):
    body = "".join(f'<div class="output">{fragment}</div>' for fragment in fragments)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body style="margin: 8px; font-family: sans-serif">{body}'
            f'{PROBE if probe else ""}</body></html>')


@pytest.fixture(scope="module")
def rendered(played, tmp_path_factory):
    """{"notebook" | "gradescope": (what the probe measured, screenshot path, the page)}."""
    if not CHROMIUM.exists():
        pytest.skip(MISSING)
    pages = {
        "notebook": notebook_html(played, *PICTURED) + notebook_html(played, *HOSTILE_AT),
        "gradescope": gradescope_html(played, PICTURED[0], [PICTURED[1], "Public Tests"])
        + gradescope_html(played, HOSTILE_AT[0], [HOSTILE_AT[1], "Public Tests"])}

    folders = {kind: tmp_path_factory.mktemp(f"browser-{kind}") for kind in pages}  # one thread

    def render(kind):
        folder = folders[kind]
        target, shown = folder / "probed.html", folder / "page.html"
        target.write_text(page(kind, pages[kind], probe=True), encoding="utf-8")
        shown.write_text(page(kind, pages[kind], probe=False), encoding="utf-8")
        shot = folder / "page.png"
        for sub in "ab":
            (folder / sub).mkdir()
        with ThreadPoolExecutor(2) as pool:
            measured = pool.submit(probed, target, cwd=folder / "a")
            pool.submit(chromium, f"--screenshot={shot}", shown.as_uri(), cwd=folder / "b").result()
        assert shot.exists(), "no screenshot"
        return kind, (measured.result(), shot, pages[kind])

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(render, pages))


@pytest.mark.parametrize("kind", ["notebook", "gradescope"])
def test_the_graph_is_drawn_within_the_page_with_the_first_wrong_node_marked(rendered, kind,
                                                                            played):
    measured, shot, _ = rendered[kind]
    assert measured["innerWidth"] == WIDTH
    assert measured["scrollWidth"] <= measured["clientWidth"], "wider than the window"
    svgs = measured["svgs"]
    assert svgs, "no picture in the page"
    expected = next(c for c in sealed_cases(played[PICTURED[0]], PICTURED[1])
                    if not c.passed and c.picture).picture
    titles = [svg["title"] for svg in svgs]
    assert expected["title"] in titles, titles   # the same case's graph on both pages
    for svg in svgs:
        assert svg["width"] > 100 and svg["height"] > 50, svg
        assert 0 <= svg["left"] and svg["right"] <= measured["clientWidth"], svg
        assert svg["nodes"] >= 3, svg
        assert len(svg["firsts"]) == 1, svg
        first = svg["firsts"][0]
        assert first["label"] and first["strokeWidth"] >= 3, first
        r, g, b = map(int, re.findall(r"\d+", first["stroke"])[:3])
        assert r > 150 and g < 60 and b < 60, first
    drawn = next(svg for svg in svgs if svg["title"] == expected["title"])
    wrong = expected["nodes"][expected["first_wrong"]]["text"]
    assert wrong in drawn["firsts"][0]["text"], (wrong, drawn["firsts"])
    print(f"\n{kind} page: {len(svgs)} graph(s), the first {drawn['width']:.0f} x "
          f"{drawn['height']:.0f} px; screenshot {shot}")
    red = red_pixels(shot)
    assert red > 200, f"{red} red pixels: the first wrong node is not drawn in red"


@pytest.mark.parametrize("kind", ["notebook", "gradescope"])
def test_the_students_html_arrives_as_text(rendered, kind):
    measured, _, source = rendered[kind]
    assert measured["scripts"] == 1 and measured["images"] == 0   # the probe alone
    assert HOSTILE in measured["text"], "the student's text is not shown as written"
    assert "<script>alert" not in "".join(source) and "<img src=x" not in "".join(source)


def red_pixels(path):
    from matplotlib import image

    pixels = image.imread(path)[..., :3].reshape(-1, 3)
    return int(((pixels[:, 0] > 0.6) & (pixels[:, 1] < 0.3) & (pixels[:, 2] < 0.3)).sum())
