"""The picture of a failing check's computation graph (grader.feedback.graph): escaping, the first
wrong node, the text fallback, caps on size, degenerate input, layouts; then the pictures in a
real browser (headless chromium, skipped without /usr/bin/chromium) at a laptop's and a narrow
width, measured by a probe script and screenshotted.
"""

import html
import re
import struct
import time
import zlib
from html.parser import HTMLParser

import pytest

from browser import HEIGHT, chromium, needed, probe_script, probed
from grader.feedback import graph
from grader.feedback.graph import html_message, render_html, render_text

TAGS = {"div", "span", "pre", "svg", "g", "title", "rect", "text", "path", "polygon"}
ATTRIBUTES = {"style", "xmlns", "width", "height", "viewbox", "role", "aria-label", "d", "fill",
              "stroke", "stroke-width", "stroke-dasharray", "points", "x", "y", "rx",
              "font-size", "font-weight", "text-anchor", "paint-order", "data-node",
              "data-status", "data-first", "data-from", "data-to"}
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "'><svg onload=x>",
           "&lt;b&gt; & </text></svg></div>"]


def node(text, inputs=(), expected="1", found="1", status="ok", name=None):
    return {"name": name if name is not None else text.split(" ")[0], "text": text,
            "inputs": list(inputs), "expected": expected, "found": found, "status": status}


def cosh(quantity="gradient"):
    """The homework's cosh graph with one wrong node (b = -x)."""
    return {"title": "x.gradient with x = 0.4151", "quantity": quantity, "first_wrong": 2,
            "nodes": [node("x = Leaf(0.4151)", [], "0.4279", "0.4279"),
                      node("a = Exp(x)", [0], "0.7575", "0.7575"),
                      node("b = -x", [0], "-0.66", "None", "wrong"),
                      node("c = Exp(b)", [2], "0.33", "0.33"),
                      node("z = Mean(a, c)", [1, 3], "1", "1")]}


def chain(count=16):
    """y = Leaf(2.0), then y = Mean(y, y) again and again: each node uses the previous twice;
    the results are wrong from the tenth node on."""
    nodes = [node("y = Leaf(2.0)", [], "2.0", "2.0", "unchecked")]
    nodes += [node("y = Mean(y, y)", [k, k], "2.0", "2.0" if k < 9 else "4.0",
                   "ok" if k < 9 else "wrong") for k in range(count - 1)]
    return {"title": f"y.result after {count - 1} means", "quantity": "result", "nodes": nodes,
            "first_wrong": 10}


def tensors():
    """loss = (A @ B @ C).sum(): three layers of tensors, the first Matmul's gradient wrong."""
    shape = "tensor of shape ({}, {})".format
    return {"title": "A.gradient, B.gradient, C.gradient", "quantity": "gradient",
            "first_wrong": 3,
            "nodes": [node("A = Leaf(rand(3, 4))", [], shape(3, 4), shape(3, 4)),
                      node("B = Leaf(rand(4, 5))", [], shape(4, 5), shape(5, 4), "wrong"),
                      node("C = Leaf(rand(5, 2))", [], shape(5, 2), shape(5, 2)),
                      node("AB = Matmul(A, B)", [0, 1], shape(3, 5), shape(5, 3), "wrong"),
                      node("ABC = Matmul(AB, C)", [3, 2], shape(3, 2), shape(3, 2)),
                      node("loss = ABC.sum()", [4], "1", "1", "unchecked")]}


def polynomial():
    """The homework's x**4 - 2 * x**3 + 3 * x**2 - 4 * x + 5 on a tensor, then .sum(), as its
    operators build it (constants become Leaf nodes); 3 * x**2 is wrong."""
    nodes, shape = [], "tensor of shape (25,)"

    def op(text, *inputs, status="ok", value=shape):
        nodes.append(node(text, inputs, value, "tensor of shape (1,)" if status == "wrong"
                          else value, status))
        return len(nodes) - 1

    def const(k):
        return op(f"Leaf({k})", status="unchecked", value=str(k))

    x = op("x = Leaf(linspace(-2, 3, 25))")
    p4 = op("IntPow(x, 4)", x, const(4))
    m2 = op("Mul(2, x**3)", const(2), op("IntPow(x, 3)", x, const(3)))
    a1 = op("Add(x**4, -(2 * x**3))", p4, op("Negate(2 * x**3)", m2))
    p2 = op("IntPow(x, 2)", x, const(2))
    m3 = op("Mul(3, x**2)", const(3), p2, status="wrong")
    a2 = op("Add(..., 3 * x**2)", a1, m3, status="wrong")
    a3 = op("Add(..., -(4 * x))", a2, op("Negate(4 * x)", op("Mul(4, x)", const(4), x)),
            status="wrong")
    op("ysum = Matsum(yy)", op("Add(..., 5)", a3, const(5), status="wrong"), status="wrong",
       value="33.2")
    return {"title": "ysum.result for polynomial(x)", "quantity": "result", "nodes": nodes,
            "first_wrong": m3}


def long_names():
    """Long program lines, long values, hostile text, a node used three times."""
    name = "a_really_quite_long_variable_name_that_a_student_typed"
    return {"title": "the gradient of " + "a very long title " * 30, "quantity": "result",
            "nodes": [node(f"{name} = Leaf({'7' * 90})", [], "1" * 80, "2" * 80, "wrong"),
                      node(HOSTILE[1] + " = Exp(x)", [0], HOSTILE[0], HOSTILE[3]),
                      node(f"z = Mean({name}, {name}, {name})", [0, 0, 0, 1], "nan", "None",
                           "unchecked", name="z")],
            "first_wrong": 0}


class Elements(HTMLParser):
    """Every element and attribute of a fragment, its text, and the picture's geometry: each
    node's box (x, y, w, h) and texts, each edge's (from, to, points)."""

    def __init__(self, fragment):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.data = [], [], []
        self.nodes, self.edges, self.labels, self.current = {}, [], [], None
        self.svg = None
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.attributes += attrs.items()
        if tag == "svg":
            self.svg = attrs
        if tag == "g" and "data-node" in attrs:
            self.current = int(attrs["data-node"])
            self.nodes[self.current] = {"first": "data-first" in attrs, "box": None,
                                        "texts": [], "status": attrs["data-status"]}
        elif tag == "rect" and self.current is not None and not self.nodes[self.current]["box"]:
            self.nodes[self.current]["box"] = tuple(float(attrs[k]) for k in "x y width height"
                                                    .split())
            self.nodes[self.current]["stroke-width"] = float(attrs["stroke-width"])
        elif tag == "path":
            points = [tuple(map(float, p.split())) for p in attrs["d"][1:].split(" L")]
            self.edges.append((int(attrs["data-from"]), int(attrs["data-to"]), points))

    def handle_endtag(self, tag):
        if tag == "g":
            self.current = None

    def handle_data(self, data):
        self.data.append(data)
        if self.current is not None:
            self.nodes[self.current]["texts"].append(data)
        elif data.startswith("×"):
            self.labels.append(data)

    @property
    def text(self):
        return "".join(self.data)


def parsed(fragment):
    """The fragment parsed, after checking it holds only the elements and attributes the
    renderer emits, and fits the size cap."""
    assert isinstance(fragment, str)
    assert len(fragment.encode("utf-8")) <= graph.MAX_BYTES
    elements = Elements(fragment)
    assert set(elements.tags) <= TAGS, set(elements.tags) - TAGS
    assert {name for name, _ in elements.attributes} <= ATTRIBUTES
    assert all(not (value or "").lstrip().lower().startswith("javascript")
               for _, value in elements.attributes)
    return elements


def on_side(point, box):
    """Whether a point lies on the border of a box (x, y, w, h), to a pixel."""
    (px, py), (x, y, w, h) = point, box
    inside = x - 1 <= px <= x + w + 1 and y - 1 <= py <= y + h + 1
    return inside and min(abs(px - x), abs(px - x - w), abs(py - y), abs(py - y - h)) <= 1


def overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def check_geometry(elements, count):
    """Boxes inside the SVG's viewBox, none overlapping; every edge from its input's box to its
    user's box."""
    width, height = float(elements.svg["width"]), float(elements.svg["height"])
    assert elements.svg["viewbox"] == f"0 0 {elements.svg['width']} {elements.svg['height']}"
    assert "max-width: 100%" in elements.svg["style"] and "height: auto" in elements.svg["style"]
    boxes = [elements.nodes[k]["box"] for k in range(count)]
    for k, (x, y, w, h) in enumerate(boxes):
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height, k
        for j in range(k):
            assert not overlap(boxes[j], boxes[k]), (j, k)
    for source, target, points in elements.edges:
        assert on_side(points[0], boxes[source]) and on_side(points[-1], boxes[target])
    return boxes


# ---- escaping ---------------------------------------------------------------------------------

def test_student_text_is_escaped_everywhere():
    picture = {"title": HOSTILE[0], "quantity": "gradient", "first_wrong": 1,
               "nodes": [node(HOSTILE[0], [], HOSTILE[1], HOSTILE[2], "ok", name=HOSTILE[3]),
                         node(HOSTILE[1], [0, 0], HOSTILE[3], HOSTILE[0], "wrong"),
                         node(HOSTILE[2], [1], "1", "1", HOSTILE[1], name=HOSTILE[2])]}
    out = render_html(picture)
    lowered = out.lower()
    for bad in ("<script", "<img", "<svg onload", "</text></svg>"):   # as markup, not as text
        assert bad not in lowered
    elements = parsed(out)
    assert elements.tags.count("svg") == 1
    for text in HOSTILE[:3]:   # shown verbatim (they are short enough not to be shortened)
        assert text in elements.text
    assert elements.svg["aria-label"] == HOSTILE[0]
    assert render_text(picture).count(HOSTILE[0]) >= 2
    fallback = render_html({**picture, "nodes": picture["nodes"] * 20})   # as a table
    assert "<script" not in fallback.lower() and "<img" not in fallback.lower()
    assert HOSTILE[0] in parsed(fallback).text


def test_html_message_shows_text_verbatim():
    text = ("\n  Traceback:\n\tline 1 <b>bold?</b> & &amp; \"quoted\" 'single'\n"
            "Ünïcödé 数据 😀 " + "unbroken" * 100 + "\n    indented\n")
    out = html_message(text)
    elements = parsed(out)
    assert elements.tags == ["pre"]
    assert elements.text == "\n" + text   # the first newline after <pre> is dropped by browsers
    assert "white-space: pre-wrap" in out and "overflow-wrap: anywhere" in out
    odd = html_message("nul\x00 bell\x07 lone \ud800 surrogate\r\nnext")
    assert parsed(odd).text == "\nnul\ufffd bell\ufffd lone ? surrogate\nnext"
    odd.encode("utf-8")
    assert parsed(html_message(None)).text == "\nNone"


# ---- the first wrong node, the text fallback ----------------------------------------------------

def test_first_wrong_node_is_marked_in_html():
    elements = parsed(render_html(cosh()))
    firsts = [k for k, n in elements.nodes.items() if n["first"]]
    assert firsts == [2]
    first = elements.nodes[2]
    assert "first wrong" in first["texts"] and "b = -x" in first["texts"]
    assert first["stroke-width"] >= 3
    assert all(n["stroke-width"] < 2 for k, n in elements.nodes.items() if k != 2)
    assert "found None" in first["texts"] and "expected -0.66" in first["texts"]
    assert sum(n["status"] == "wrong" for n in elements.nodes.values()) == 1
    assert "first wrong" not in "".join(elements.nodes[3]["texts"])


def test_text_fallback_marks_the_first_wrong_node_and_follows_the_pass():
    lines = render_text(cosh("gradient")).splitlines()
    assert lines[0] == "x.gradient with x = 0.4151" and "backward pass" in lines[1]
    rows = lines[3:]
    assert [row.split()[0] for row in rows] == ["z", "c", "b", "a", "x"]   # output first
    assert [row for row in rows if "<- first wrong" in row] == [rows[2]]
    assert rows[2].split() == ["b", "=", "-x", "-0.66", "None", "<-", "first", "wrong"]
    forward = render_text(cosh("result")).splitlines()
    assert "forward pass" in forward[1] and "result" in forward[1]
    assert [row.split()[0] for row in forward[3:]] == ["x", "a", "b", "c", "z"]
    assert forward[3:][2].endswith("<- first wrong")
    assert "gradient" not in forward[1]
    header = lines[2]
    assert header.split() == ["node", "expected", "found"]
    # aligned: every row's expected value starts where the header's does
    column = header.index("expected")
    assert all(row[column - 2:column] == "  " and row[column] != " " for row in rows)


def test_text_rows_stay_short_and_mark_other_nodes():
    text = render_text(long_names())
    lines = text.splitlines()
    assert all(len(line) < 100 for line in lines), max(lines, key=len)
    assert lines[0].endswith("…") and "…" in lines[3]
    assert lines[3].endswith("<- first wrong") and lines[5].endswith("(not checked)")
    assert render_text(tensors()).count("<- wrong") == 1
    assert "tensor of shape (5, 4)" in render_text(tensors())


# ---- sizes and degenerate input ---------------------------------------------------------------

def test_huge_strings_and_huge_graphs_stay_bounded():
    big = "<&>\"'" * 200_000   # 1 MB of characters that all grow when escaped
    picture = {"title": big, "quantity": big, "first_wrong": 3,
               "nodes": [{"name": big, "text": big, "inputs": [max(k - 1, 0)] * 10_000,
                          "expected": big, "found": big, "status": "wrong"} for k in range(40)]}
    started = time.perf_counter()
    out, text, message = render_html(picture), render_text(picture), html_message(big)
    assert time.perf_counter() - started < 10
    parsed(out)
    assert "<svg" in out
    assert all(len(line) < 100 for line in text.splitlines())
    assert len(text.encode()) < 20_000
    assert "more characters not shown" in parsed(message).text
    quotes = '"' * 1_000_000   # each one 6 bytes escaped
    layered = {"nodes": [{"text": quotes, "expected": quotes, "found": quotes, "status": "wrong",
                          "inputs": list(range(k // 10 * 10 - 10, k // 10 * 10))}
                         for k in range(40)]}   # 4 layers of 10, each node using all above
    elements = parsed(render_html(layered))     # the cap holds: this much text is a table
    assert "svg" not in elements.tags and "too much text to draw" in elements.text
    many = {"quantity": "gradient", "first_wrong": 7,
            "nodes": [node(f"n{k} = Exp(n{k - 1})", [k - 1] if k else [], "&" * 50, "<" * 50,
                           "wrong" if k == 7 else "ok") for k in range(200_000)]}
    started = time.perf_counter()
    out, text = render_html(many), render_text(many)
    assert time.perf_counter() - started < 10
    elements = parsed(out)
    assert "svg" not in elements.tags and "too large to draw" in elements.text
    assert "n7 = Exp(n6)" in elements.text and "<- first wrong" in elements.text
    lines = text.splitlines()
    assert len(lines) < graph.MAX_ROWS + 10 and lines[-1].strip().endswith("not shown)")
    assert lines[-2].startswith("  n7 = Exp(n6)") and lines[-2].endswith("<- first wrong")


def test_more_than_forty_nodes_is_a_table():
    assert "<svg" in render_html(chain(40))
    out = render_html(chain(41))
    elements = parsed(out)
    assert "svg" not in elements.tags and "pre" in elements.tags
    assert "This graph has 41 nodes: too large to draw" in elements.text
    assert elements.text.count("y = Mean(y, y)") == 40


@pytest.mark.parametrize("picture", [
    None, 3, "nodes", [], {}, {"nodes": None}, {"nodes": "abc"}, {"nodes": []},
    {"nodes": [None, 5, "x", []]},
    {"nodes": [{}], "first_wrong": 0},
    {"nodes": [{"inputs": [0, 0]}]},                                    # itself
    {"nodes": [{"inputs": [1]}, {"inputs": [0]}]},                      # a cycle
    {"nodes": [{"inputs": [5, -1, None, "0", 0.0, True, [0]]}, {"inputs": 3}]},
    {"nodes": [node("x = Leaf(1)", name="x"), node("x = Exp(x)", [0], name="x")]},  # same names
    {"nodes": [{"text": None, "expected": float("nan"), "found": None, "status": None}]},
    {"nodes": [node("a")], "first_wrong": True}, {"nodes": [node("a")], "first_wrong": -1},
    {"nodes": [node("a")], "first_wrong": 99}, {"nodes": [node("a")], "first_wrong": "0"},
    {"title": None, "quantity": None, "nodes": [{"text": "\x00\n\t\u202e\ud800" * 3}]},
    {"nodes": [node("x = " + "数据" * 40, expected="😀" * 50, found="e\u0301" * 500)]},
])
def test_degenerate_pictures_render(picture):
    out, text = render_html(picture), render_text(picture)
    elements = parsed(out)
    assert isinstance(text, str) and all(len(line) < 100 for line in text.splitlines())
    out.encode("utf-8")
    text.encode("utf-8")
    nodes = picture.get("nodes") if isinstance(picture, dict) else None
    if isinstance(nodes, list) and nodes:
        assert elements.tags.count("g") == len(nodes)
        check_geometry(elements, len(nodes))
        for source, target, _ in elements.edges:   # only edges to a later node are drawn
            assert source < target
    else:
        assert "no computation graph" in elements.text and "no computation graph" in text


def test_inputs_that_are_not_earlier_nodes_are_dropped():
    elements = parsed(render_html({"nodes": [{"inputs": [1, 0]}, {"inputs": [0, 1, 7]},
                                             {"inputs": [1, 0, 1]}]}))
    assert sorted((s, t) for s, t, _ in elements.edges) == [(0, 1), (0, 2), (1, 2)]
    assert elements.labels == ["×2"]


def test_missing_first_wrong_is_the_first_wrong_node_the_pass_visits():
    picture = cosh("gradient")
    del picture["first_wrong"]
    picture["nodes"][3]["status"] = "wrong"
    assert [k for k, n in parsed(render_html(picture)).nodes.items() if n["first"]] == [3]
    assert "c = Exp(b)" in [line for line in render_text(picture).splitlines()
                            if "first wrong" in line][0]
    picture["quantity"] = "result"
    assert [k for k, n in parsed(render_html(picture)).nodes.items() if n["first"]] == [2]
    picture["first_wrong"] = None
    assert not any(n["first"] for n in parsed(render_html(picture)).nodes.values())
    assert "first wrong" not in render_text(picture)


# ---- layouts ----------------------------------------------------------------------------------

def test_a_node_used_twice_shows_one_edge_with_a_count():
    picture = {"nodes": [node("y = Leaf(3)"), node("z = Mean(y, y)", [0, 0]),
                         node("w = Mul(y, z, y, y)", [0, 1, 0, 0])]}
    elements = parsed(render_html(picture))
    assert sorted((s, t) for s, t, _ in elements.edges) == [(0, 1), (0, 2), (1, 2)]
    assert sorted(elements.labels) == ["×2", "×3"]
    check_geometry(elements, 3)


def test_a_chain_of_sixteen_means_is_a_column():
    out = render_html(chain())
    print(f"\n16-node chain: {len(out.encode())} bytes of HTML")
    assert len(out.encode()) < 30_000
    elements = parsed(out)
    boxes = check_geometry(elements, 16)
    assert len({x + w / 2 for x, _, w, _ in boxes}) == 1          # one column, top to bottom
    assert all(boxes[k][1] < boxes[k + 1][1] for k in range(15))
    assert sorted((s, t) for s, t, _ in elements.edges) == [(k, k + 1) for k in range(15)]
    assert elements.labels == ["×2"] * 15
    assert [k for k, n in elements.nodes.items() if n["first"]] == [10]
    assert [n["status"] for n in elements.nodes.values()].count("wrong") == 6
    assert float(elements.svg["width"]) < 400


def test_three_layers_of_tensors():
    elements = parsed(render_html(tensors()))
    boxes = check_geometry(elements, 6)
    assert sorted((s, t) for s, t, _ in elements.edges) == [(0, 3), (1, 3), (2, 4), (3, 4),
                                                           (4, 5)]
    for source, target, points in elements.edges:   # inputs above their users
        assert boxes[source][1] + boxes[source][3] <= points[0][1] + 1 < points[-1][1]
        assert points[-1][1] == pytest.approx(boxes[target][1], abs=0.1)
    assert boxes[2][1] == boxes[3][1]            # the constant-like leaf C next to its user
    assert "expected tensor of shape (3, 5)" in elements.nodes[3]["texts"]
    assert elements.nodes[5]["status"] == "unchecked"


def test_edges_across_layers_pass_between_boxes():
    picture = polynomial()
    assert len(picture["nodes"]) == 21
    elements = parsed(render_html(picture))
    boxes = check_geometry(elements, 21)
    bent = 0
    for source, target, points in elements.edges:
        bent += len(points) > 2
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            for step in range(1, 20):   # points along the segment, ends excluded
                px, py = x0 + (x1 - x0) * step / 20, y0 + (y1 - y0) * step / 20
                for k, (x, y, w, h) in enumerate(boxes):
                    assert not (x + 1 < px < x + w - 1 and y + 1 < py < y + h - 1), \
                        (source, target, k)
    assert bent >= 2
    widths = {elements.nodes[k]["texts"][1]: boxes[k][2] for k in range(21)}   # [0]: tooltip
    assert widths["Leaf(4)"] < 120 < widths["IntPow(x, 4)"] <= graph.BOX_W   # boxes fit text


def test_a_wide_layer_turns_the_picture_sideways():
    picture = {"nodes": [node(f"c{k} = Leaf({k})") for k in range(30)]
               + [node("s = Add(" + ", ".join(f"c{k}" for k in range(30)) + ")", range(30))]}
    elements = parsed(render_html(picture))
    boxes = check_geometry(elements, 31)
    assert float(elements.svg["width"]) < 1000
    assert all(points[0][0] < points[-1][0] for _, _, points in elements.edges)   # rightwards
    assert len({round(y) for _, y, *_ in boxes[:30]}) == 30


# ---- in a real browser ------------------------------------------------------------------------

# What the probe script (tests/browser.py) measures of every picture.
PROBE = probe_script("""
  const onSide = (p, b) => p.x >= b.x - 1 && p.x <= b.x + b.width + 1 && p.y >= b.y - 1
    && p.y <= b.y + b.height + 1 && Math.min(Math.abs(p.x - b.x), Math.abs(p.x - b.x - b.width),
                                             Math.abs(p.y - b.y),
                                             Math.abs(p.y - b.y - b.height)) <= 1;
  const overlap = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5
    && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const svgs = [...document.querySelectorAll("svg")].map(svg => {
    const nodes = {};
    for (const g of svg.querySelectorAll("g[data-node]")) nodes[g.dataset.node] = g;
    const rects = Object.values(nodes).map(g => g.querySelector("rect"));
    const overlaps = [];
    rects.forEach((a, i) => rects.slice(i + 1).forEach((b, j) => {
      if (overlap(a.getBoundingClientRect(), b.getBoundingClientRect()))
        overlaps.push([i, i + 1 + j]);
    }));
    const badEdges = [];
    const paths = [...svg.querySelectorAll("path[data-from]")];
    for (const path of paths) {
      const start = path.getPointAtLength(0), end = path.getPointAtLength(path.getTotalLength());
      const from = nodes[path.dataset.from].querySelector("rect").getBBox();
      const to = nodes[path.dataset.to].querySelector("rect").getBBox();
      if (!onSide(start, from) || !onSide(end, to)) badEdges.push(path.getAttribute("d"));
    }
    const textOutside = [];
    for (const g of Object.values(nodes)) {
      const r = g.querySelector("rect").getBBox();
      for (const t of g.querySelectorAll("text")) {
        const b = t.getBBox();
        if (b.x < r.x - 0.5 || b.x + b.width > r.x + r.width + 0.5 || b.y < r.y - 0.5
            || b.y + b.height > r.y + r.height + 0.5) textOutside.push(t.textContent);
      }
    }
    const strokes = g => getComputedStyle(g.querySelector("rect"));
    const firsts = [...svg.querySelectorAll("g[data-first]")];
    const box = svg.getBoundingClientRect();
    return {width: box.width, height: box.height, left: box.left, right: box.right,
            scale: box.width / svg.viewBox.baseVal.width, nodes: rects.length, edges: paths.length,
            overlaps, badEdges, textOutside, firsts: firsts.map(g => ({
              strokeWidth: parseFloat(strokes(g).strokeWidth), stroke: strokes(g).stroke,
              label: [...g.querySelectorAll("text")].some(t => t.textContent == "first wrong")})),
            wrongStrokes: [...svg.querySelectorAll('g[data-status="wrong"]')]
              .map(g => strokes(g).stroke),
            otherStroke: Math.max(0, ...Object.values(nodes).filter(g => !g.dataset.first)
                                          .map(g => parseFloat(strokes(g).strokeWidth)))};
  });
  Object.assign(found, {svgs, title: document.title, images: document.images.length,
                        scripts: document.scripts.length});""")
PICTURES = {"cosh": cosh(), "chain": chain(), "long names": long_names(), "tensors": tensors(),
            "polynomial": polynomial()}


def page(probe):
    """A page with every picture and a message with a long unbroken word, as a notebook shows
    check output (with the probe script, which no fragment has, when asked)."""
    parts = [f"<h2>{html.escape(name)}</h2>{render_html(picture)}"
             for name, picture in PICTURES.items()]
    parts.append(html_message("Your code raised:\n  " + "unbroken_" * 80 + "\n<end> & 'quotes'"))
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>graph pictures</title>'
            '</head><body style="margin: 8px; font-family: sans-serif">' + "".join(parts)
            + (PROBE if probe else "") + "</body></html>")


def png_pixels(path, rows):
    """(width, height, the first `rows` rows as lists of (r, g, b)) of an 8-bit RGB(A) PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, stream = 8, b""
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            stream += body
        at += 12 + length
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    step = 3 if colour == 2 else 4
    stride = width * step
    raw = zlib.decompressobj().decompress(stream, (stride + 1) * rows)
    previous, found = bytearray(stride), []
    for y in range(min(rows, height)):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for x in range(stride):
            a = line[x - step] if x >= step else 0
            b = previous[x]
            c = previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        found.append([tuple(line[x:x + 3]) for x in range(0, stride, step)])
        previous = line
    return width, height, found


@pytest.fixture(scope="module", params=[1366, 600], ids=["laptop", "narrow"])
def width(request):
    return request.param


@pytest.fixture(scope="module")
def measured(width, tmp_path_factory):
    """What the probe script measured in the loaded page."""
    folder = tmp_path_factory.mktemp(f"graph-probe-{width}")
    target = folder / "pictures.html"
    target.write_text(page(probe=True), encoding="utf-8")
    return probed(target, cwd=folder, width=width)


@needed
def test_pictures_render_with_a_size_and_fit_the_page(measured, width):
    assert measured["innerWidth"] == width
    assert measured["scrollWidth"] <= measured["clientWidth"], \
        f"wider than the window: {measured['overflowing']}"
    assert not measured["overflowing"]
    svgs = measured["svgs"]
    assert len(svgs) == len(PICTURES)
    for svg, (name, picture) in zip(svgs, PICTURES.items()):
        assert svg["width"] > 100 and svg["height"] > 50, name
        assert svg["left"] >= 0 and svg["right"] <= measured["clientWidth"], name
        assert 0.3 < svg["scale"] <= 1.0001, name
        assert svg["nodes"] == len(picture["nodes"]), name
    print(f"\nat {width} px, scale of each picture: "
          + ", ".join(f"{name} {svg['scale']:.2f}" for name, svg in zip(PICTURES, svgs)))
    if width >= 1000:   # at a laptop's width nothing needs to shrink
        assert all(svg["scale"] > 0.999 for svg in svgs)
    assert svgs[0]["scale"] > 0.95, "the small cosh graph keeps its size even on a narrow page"


@needed
def test_boxes_edges_and_text_in_the_browser(measured):
    for name, svg in zip(PICTURES, measured["svgs"]):
        assert svg["edges"] > 0, name
        assert not svg["overlaps"], (name, svg["overlaps"])
        assert not svg["badEdges"], (name, svg["badEdges"])
        assert not svg["textOutside"], (name, svg["textOutside"])


@needed
def test_first_wrong_node_is_emphasised_in_the_browser(measured):
    for name, svg in zip(PICTURES, measured["svgs"]):
        assert len(svg["firsts"]) == 1, name
        first = svg["firsts"][0]
        assert first["label"] and first["strokeWidth"] >= 3 > svg["otherStroke"], (name, first)
        for stroke in [first["stroke"]] + svg["wrongStrokes"]:   # wrong nodes are red
            r, g, b = map(int, re.findall(r"\d+", stroke)[:3])
            assert r > 150 and g < 60 and b < 60, (name, stroke)
    assert [len(svg["wrongStrokes"]) for svg in measured["svgs"]] == [1, 6, 1, 2, 5]


@needed
def test_hostile_text_stays_text_in_the_browser(measured):
    assert measured["title"] == "graph pictures"
    assert measured["images"] == 0 and measured["scripts"] == 1   # the probe alone


@needed
def test_pictures_screenshot(width, tmp_path):
    target = tmp_path / "pictures.html"
    target.write_text(page(probe=False), encoding="utf-8")
    shot = tmp_path / "pictures.png"
    done = chromium(f"--screenshot={shot}", target.as_uri(), width=width, cwd=tmp_path)
    assert shot.exists(), done.stderr[-2000:]
    print(f"\nscreenshot of the pictures at {width} px: {shot}")
    shot_width, shot_height, rows = png_pixels(shot, 450)
    assert (shot_width, shot_height) == (width, HEIGHT)
    pixels = [p for row in rows for p in row]
    red = sum(r > 150 and g < 80 and b < 80 for r, g, b in pixels)
    assert red > 200, f"{red} red pixels in the top of the page: the wrong node is not red"
    assert len(set(pixels[::13])) > 20, "the page is (nearly) one colour"
