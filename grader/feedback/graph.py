"""The computation graph a failing check built, drawn for the student: every node with its
expected and found value and the first wrong node marked, as HTML (an inline SVG, for the
notebook's check output and Gradescope) or as a plain-text table.

A picture is a dict (see render_html). Every string in it may be the student's, so all of it is
escaped, and every function here accepts any input without raising, in bounded time and size.
Standard library only: this file is also copied into the student notebook.
"""

import html
import operator
import re
import unicodedata

MAX_DRAWN = 40         # more nodes than this: a table instead of a picture
MAX_BENDS = 400        # more bends (edges crossing layers) than this: a table as well
MAX_BYTES = 200_000    # no HTML fragment is longer than this, in UTF-8 bytes
MAX_ROWS = 150         # rows of the text table
STATUSES = ("ok", "wrong", "unchecked")

# Box geometry (SVG pixels). Text is monospace: a character is about 0.6 em wide, so a 12 px
# one 7.3 px at most, an 11 px one 6.7 px. Boxes are as wide as their text, within limits.
BOX_W, MIN_W, BOX_H, PAD, TAG_W = 240, 96, 58, 8, 78
CHAR_12, CHAR_11 = 7.3, 6.7
MARGIN, BEND = 16, 8
GAPS = {"down": (28, 52), "right": (24, 72)}      # (between boxes of a layer, between layers)
FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
STYLES = {  # status: (fill, stroke, stroke width, dash, text colour)
    "ok": ("#eef7ee", "#4a7f4a", 1.2, "", "#222"),
    "wrong": ("#fdeaea", "#c62828", 1.6, "", "#222"),
    "first": ("#fbd3d3", "#b71c1c", 3.5, "", "#222"),
    "unchecked": ("#f3f3f3", "#9e9e9e", 1.2, "4 3", "#6b6b6b")}

_SPACES = re.compile(r"\s+")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_BLOCK_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


# ---- reading a picture, whatever its shape -----------------------------------------------------

def _str(value):
    """str(value), or '?' when even that fails."""
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:
        return "?"


def _line(value):
    """One line of display text: surrogates, control characters and bidi overrides replaced,
    whitespace collapsed, and no more than 2000 characters looked at (strings may be 1 MB)."""
    text = _str(value)[:2000].encode("utf-8", "replace").decode("utf-8")
    return _CONTROLS.sub("\ufffd", _SPACES.sub(" ", text)).strip()


def _width(text):
    """Columns the text takes in a monospace font: wide East Asian characters count 2, combining
    marks 0."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _shorten(text, width):
    """The text cut to `width` columns, with an ellipsis when cut (and to 2 characters a column,
    so that combining marks cannot make it long)."""
    if len(text) <= width or (len(text) <= 2 * width and _width(text) <= width):
        return text
    used, end = 0, 0
    for end, char in enumerate(text[:2 * width]):
        used += _width(char)
        if used > width - 1:
            break
    return text[:min(end, 2 * width - 1)] + "…"


def _index(value):
    """value as a list index (ints only, not bools), or None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return operator.index(value)
    except Exception:
        return None


def _status(raw):
    status = raw.get("status") if isinstance(raw, dict) else None
    status = status.strip().lower() if isinstance(status, str) else ""
    return status if status in STATUSES else "unchecked"


def _read(picture):
    """(title, backward, raw nodes, first wrong index or None) of any picture. A missing
    first_wrong is the first node marked wrong in the order the pass visits them; an invalid one
    (not an index of a node) is None."""
    picture = picture if isinstance(picture, dict) else {}
    title = _line(picture.get("title") or "")
    backward = picture.get("quantity") == "gradient"
    raw = picture.get("nodes")
    raw = raw if isinstance(raw, (list, tuple)) else []
    if "first_wrong" in picture:
        first = _index(picture["first_wrong"])
        first = first if first is not None and 0 <= first < len(raw) else None
    else:
        first = next((k for k in _visits(len(raw), backward) if _status(raw[k]) == "wrong"), None)
    return title, backward, raw, first


def _visits(count, backward):
    """Node indices in the order the pass visits them: the backward pass starts at the output."""
    return range(count - 1, -1, -1) if backward else range(count)


def _node(raw, i, drawn=True):
    """One node's fields, cleaned (its inputs only when it is `drawn`). Inputs that do not point
    to an earlier node (out of range, the node itself, a later node: not a topological order,
    maybe a cycle) are dropped."""
    raw = raw if isinstance(raw, dict) else {}
    name = _line(raw["name"]) if raw.get("name") is not None else ""
    text = _line(raw["text"]) if raw.get("text") is not None else ""
    inputs = raw.get("inputs") if drawn else None
    inputs = [j for j in map(_index, inputs if isinstance(inputs, (list, tuple)) else [])
              if j is not None and 0 <= j < i]
    values = [(_line(raw[key]) or "(empty)") if key in raw else "?"
              for key in ("expected", "found")]
    return {"text": text or name or f"(node {i})", "inputs": inputs, "expected": values[0],
            "found": values[1], "status": _status(raw)}


# ---- text -------------------------------------------------------------------------------------

def _table(backward, raw, first):
    """The table's lines: a sentence, a header, one row per node in the order the pass visits
    them (at most MAX_ROWS, the first wrong node always among them)."""
    what, order = ("gradient", "backward") if backward else ("result", "forward")
    lines = [f"Expected and found {what} of each node, in the order the {order} pass visits "
             "them:"]
    shown = list(_visits(len(raw), backward)[:MAX_ROWS])
    if first is not None and first not in shown:
        shown[-1:] = [None, first]          # None: a row that says nodes are left out
    rows = [("node", "expected", "found", "")]
    for k in shown:
        if k is None:
            rows.append(("…", "", "", ""))
            continue
        node = _node(raw[k], k, drawn=False)
        mark = {"ok": "", "wrong": "<- wrong", "unchecked": "(not checked)"}[node["status"]]
        rows.append((node["text"], node["expected"], node["found"],
                     "<- first wrong" if k == first else mark))
    rows = [(_shorten(a, 28), _shorten(b, 24), _shorten(c, 24), d) for a, b, c, d in rows]
    widths = [max(_width(row[c]) for row in rows) for c in range(3)]
    for row in rows:
        cells = [cell + " " * (width - _width(cell)) for cell, width in zip(row, widths)]
        lines.append(("  " + "  ".join(cells + [row[3]])).rstrip())
    hidden = len(raw) - sum(k is not None for k in shown)
    if hidden:
        lines.append(f"  ({hidden} more nodes not shown)")
    return lines


def render_text(picture):
    """The picture as plain text: the title, then a table with one row per node (program line,
    expected, found), '<- first wrong' on the first wrong node; lines under 100 characters."""
    title, backward, raw, first = _read(picture)
    lines = [_shorten(title, 98)] if title else []
    if not raw:
        return "\n".join(lines + ["(no computation graph to show)"])
    return "\n".join(lines + _table(backward, raw, first))


def html_message(text):
    """A plain-text message as HTML that shows it verbatim: escaped, line breaks and indentation
    kept, long words wrapped; cut (saying so) past MAX_BYTES."""
    return _pre(text, MAX_BYTES)


def _pre(text, budget):
    """html_message's <pre>, at most `budget` bytes long. (A newline follows <pre> because the
    HTML parser drops the first one: a message's own first newline stays.)"""
    text = _str(text).replace("\r\n", "\n").replace("\r", "\n")
    parts, size, step = [], 0, 2000
    for start in range(0, len(text), step):
        chunk = text[start:start + step].encode("utf-8", "replace").decode("utf-8")
        chunk = html.escape(_BLOCK_CONTROLS.sub("\ufffd", chunk))
        size += len(chunk.encode("utf-8"))
        if size > budget - 1000:
            parts.append(f"\n… ({len(text) - start} more characters not shown)")
            break
        parts.append(chunk)
    return ('<pre style="white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; '
            'max-width: 100%; box-sizing: border-box; margin: 0.5em 0; font-family: '
            'monospace; font-size: 13px; line-height: 1.35; background: #f7f7f7; color: #222; '
            'padding: 6px 8px; border-radius: 3px">\n' + "".join(parts) + "</pre>")


# ---- layout -----------------------------------------------------------------------------------

def _layers(nodes):
    """Layer of each node: one past its deepest input. A node without inputs sits just before
    its nearest user, so that a constant is drawn next to where it is used."""
    layer = [0] * len(nodes)
    users = [[] for _ in nodes]
    for i, node in enumerate(nodes):
        for j in dict.fromkeys(node["inputs"]):
            layer[i] = max(layer[i], layer[j] + 1)
            users[j].append(i)
    for i, node in enumerate(nodes):
        if not node["inputs"] and users[i]:
            layer[i] = min(layer[u] for u in users[i]) - 1
    return layer


def _fit(row, want, size, gap):
    """Centres along a layer as near `want` as the order and the gaps allow: the mean of a
    left-to-right and a right-to-left pass, each of which keeps the gaps (so the mean does)."""
    def space(a, b):
        return (size[a] + size[b]) / 2 + (gap if size[a] > BEND and size[b] > BEND else 12)
    left, right = list(want), list(want)
    for k in range(1, len(row)):
        left[k] = max(want[k], left[k - 1] + space(row[k - 1], row[k]))
    for k in range(len(row) - 2, -1, -1):
        right[k] = min(want[k], right[k + 1] - space(row[k], row[k + 1]))
    return [(a + b) / 2 for a, b in zip(left, right)]


def _layout(nodes, widths):
    """Where everything goes, or None when the drawing would have too many bends.

    Layered drawing: nodes in layers by depth, an edge that skips layers bends through a point in
    each layer it crosses (so that it passes between boxes, not through them), the order within a
    layer from a few sweeps of the barycenter heuristic, positions pulled towards neighbours.
    Top to bottom, inputs first; left to right when a layer is too wide for a page.
    """
    layer = _layers(nodes)
    edges, up, down = [], [[] for _ in nodes], [[] for _ in nodes]
    for i, node in enumerate(nodes):
        counts = {}
        for j in node["inputs"]:
            counts[j] = counts.get(j, 0) + 1
        for j, count in counts.items():
            chain = [j]
            for depth in range(layer[j] + 1, layer[i]):
                if len(layer) - len(nodes) >= MAX_BENDS:
                    return None
                layer.append(depth)
                up.append([])
                down.append([])
                chain.append(len(layer) - 1)
            chain.append(i)
            for a, b in zip(chain, chain[1:]):
                down[a].append(b)
                up[b].append(a)
            edges.append((j, i, count, chain))
    rows = [[] for _ in range(max(layer) + 1)]
    for item, depth in enumerate(layer):
        rows[depth].append(item)
    pos = [0.0] * len(layer)

    def settle(row):
        for k, item in enumerate(row):
            pos[item] = k - (len(row) - 1) / 2

    for row in rows:
        settle(row)
    for _ in range(4):  # order within layers: sweep down, then up
        for sweep, near in ((rows[1:], up), (rows[-2::-1], down)):
            for row in sweep:
                row.sort(key=lambda item: sum(pos[n] for n in near[item]) / len(near[item])
                         if near[item] else pos[item])
                settle(row)

    def place(direction):
        gap, _ = GAPS[direction]
        size = [(widths[item] if direction == "down" else BOX_H) if item < len(nodes) else BEND
                for item in range(len(layer))]
        centre = [0.0] * len(layer)
        for row in rows:
            centre_row = _fit(row, [0.0] * len(row), size, gap)
            for item, c in zip(row, centre_row):
                centre[item] = c
        for _ in range(4):  # pull towards neighbours, sweeping down, then up
            for sweep in (rows, rows[::-1]):
                for row in sweep:
                    want = [sum(centre[n] for n in up[item] + down[item])
                            / len(up[item] + down[item]) if up[item] or down[item]
                            else centre[item] for item in row]
                    for item, c in zip(row, _fit(row, want, size, gap)):
                        centre[item] = c
        low = min(c - s / 2 for c, s in zip(centre, size))
        high = max(c + s / 2 for c, s in zip(centre, size))
        return [c - low + MARGIN for c in centre], high - low + 2 * MARGIN

    across, span = place("down")
    direction = "down"
    if span > 1000 and len(rows) * (BOX_W + GAPS["right"][1]) < span:
        direction = "right"
        across, span = place("right")
    along_box = BOX_H if direction == "down" else BOX_W
    step = along_box + GAPS[direction][1]
    along = [MARGIN + depth * step for depth in layer]
    length = MARGIN * 2 + len(rows) * step - GAPS[direction][1]
    return {"direction": direction, "along": along, "across": across, "edges": edges, "w": widths,
            "size": (span, length) if direction == "down" else (length, span)}


# ---- drawing ----------------------------------------------------------------------------------

def _num(value):
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _box(layout, i):
    """(x, y, width) of node i's box (left to right, a box is centred in its layer's column)."""
    along, across, width = layout["along"][i], layout["across"][i], layout["w"][i]
    if layout["direction"] == "down":
        return across - width / 2, along, width
    return along + (BOX_W - width) / 2, across - BOX_H / 2, width


def _edge_points(layout):
    """Each edge's polyline (list of (x, y)) from a port on its input's box to a port on its
    user's box: the ports of a box are spread along its side in the order of what they reach."""
    down = layout["direction"] == "down"
    across, along = layout["across"], layout["along"]
    out_ports, in_ports = {}, {}
    for k, (_, _, _, chain) in enumerate(layout["edges"]):
        out_ports.setdefault(chain[0], []).append((across[chain[1]], k))
        in_ports.setdefault(chain[-1], []).append((across[chain[-2]], k))
    start, end = {}, {}
    for ports, found, far in ((out_ports, start, True), (in_ports, end, False)):
        for i, items in ports.items():
            items.sort()
            x, y, width = _box(layout, i)
            side, extent = (x, width) if down else (y, BOX_H)
            edge = (y + BOX_H if far else y) if down else (x + width if far else x)
            for n, (_, k) in enumerate(items):
                found[k] = (side + extent * (n + 1) / (len(items) + 1), edge)
    extent = BOX_H if down else BOX_W
    paths = []
    for k, (_, _, _, chain) in enumerate(layout["edges"]):
        points = [start[k]]
        for bend in chain[1:-1]:
            points += [(across[bend], along[bend]), (across[bend], along[bend] + extent)]
        points.append(end[k])
        paths.append([(a, b) if down else (b, a) for a, b in points])
    return paths


def _arrow(points, count, source, target):
    """An edge: its line, an arrowhead at its end, a '×2' label when the input is used twice."""
    path = "M" + " L".join(f"{_num(x)} {_num(y)}" for x, y in points)
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-9)
    dx, dy = (x1 - x0) / length, (y1 - y0) / length
    head = [(x1, y1), (x1 - 9 * dx + 4.5 * dy, y1 - 9 * dy - 4.5 * dx),
            (x1 - 9 * dx - 4.5 * dy, y1 - 9 * dy + 4.5 * dx)]
    parts = [f'<path d="{path}" data-from="{source}" data-to="{target}" fill="none" '
             'stroke="#555" stroke-width="1.3"/>',
             '<polygon points="' + " ".join(f"{_num(x)},{_num(y)}" for x, y in head)
             + '" fill="#555"/>']
    if count > 1:  # beside the middle of the last segment, on its right-hand side going down
        mx, my = (x0 + x1) / 2 + 6 * dy, (y0 + y1) / 2 - 6 * dx + (4 if abs(dy) > 0.3 else 0)
        anchor = "start" if dy > 0.3 else "end" if dy < -0.3 else "middle"
        parts.append(f'<text x="{_num(mx)}" y="{_num(my)}" font-size="11" font-weight="bold" '
                     f'fill="#333" text-anchor="{anchor}" stroke="#fff" stroke-width="3" '
                     f'paint-order="stroke">×{count}</text>')
    return parts


def _lines(node, first):
    """A box's three lines (program line, expected, found), cut to the widest box, and the width
    of box they need."""
    inner = BOX_W - 2 * PAD
    lines = [_shorten(node["text"], int((inner - (TAG_W if first else 0)) / CHAR_12)),
             "expected " + _shorten(node["expected"], int(inner / CHAR_11) - 9),
             "found " + _shorten(node["found"], int(inner / CHAR_11) - 6)]
    need = max(_width(lines[0]) * CHAR_12 + (TAG_W if first else 0),
               _width(lines[1]) * CHAR_11, _width(lines[2]) * CHAR_11)
    return lines, min(BOX_W, max(MIN_W, int(need + 2 * PAD + 1)))


def _node_svg(layout, node, lines, i, first):
    """A node's box: program line, expected, found, a full-text tooltip, the first-wrong tag."""
    e = html.escape
    x, y, width = _box(layout, i)
    style = "first" if first else node["status"]
    fill, stroke, stroke_width, dash, ink = STYLES[style]
    tip = "\n".join([_shorten(node["text"], 240), "expected: " + _shorten(node["expected"], 120),
                     "found: " + _shorten(node["found"], 120),
                     {"ok": "right", "wrong": "wrong", "unchecked": "not checked",
                      "first": "the first wrong node"}[style]])
    found_style = (' font-weight="bold" fill="#b71c1c"' if style in ("wrong", "first")
                   else f' fill="{ink}"')
    parts = [f'<g data-node="{i}" data-status="{node["status"]}"'
             + (' data-first="1"' if first else "") + f'><title>{e(tip)}</title>',
             f'<rect x="{_num(x)}" y="{_num(y)}" width="{width}" height="{BOX_H}" rx="4" '
             f'fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"'
             + (f' stroke-dasharray="{dash}"' if dash else "") + "/>",
             f'<text x="{_num(x + PAD)}" y="{_num(y + 17)}" font-size="12" font-weight="bold" '
             f'fill="{ink}">{e(lines[0])}</text>',
             f'<text x="{_num(x + PAD)}" y="{_num(y + 34)}" font-size="11" fill="{ink}">'
             f'{e(lines[1])}</text>',
             f'<text x="{_num(x + PAD)}" y="{_num(y + 50)}" font-size="11"{found_style}>'
             f'{e(lines[2])}</text>']
    if first:
        parts += [f'<rect x="{_num(x + width - 80)}" y="{_num(y + 5)}" width="74" height="15" '
                  'rx="3" fill="#c62828"/>',
                  f'<text x="{_num(x + width - 43)}" y="{_num(y + 16)}" font-size="10" '
                  'font-weight="bold" fill="#fff" text-anchor="middle">first wrong</text>']
    return "".join(parts) + "</g>"


def _svg(nodes, first, title):
    lines = [_lines(node, i == first) for i, node in enumerate(nodes)]
    layout = _layout(nodes, [width for _, width in lines])
    if layout is None:
        return None
    width, height = (_num(v) for v in layout["size"])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{html.escape(_shorten(title, 300))}" '
             'style="display: block; max-width: 100%; height: auto; margin: 6px 0; '
             f'font-family: {FONT}">']
    for (source, target, count, _), points in zip(layout["edges"], _edge_points(layout)):
        parts += _arrow(points, count, source, target)
    parts += [_node_svg(layout, node, text, i, i == first)
              for i, (node, (text, _)) in enumerate(zip(nodes, lines))]
    return "".join(parts) + "</svg>"


def _legend(backward):
    def swatch(style):
        fill, stroke, width, dash, _ = STYLES[style]
        return (f'<span style="display: inline-block; width: 12px; height: 10px; margin: 0 4px 0 '
                f'10px; vertical-align: middle; background: {fill}; border: '
                f'{min(width, 3):g}px {"dashed" if dash else "solid"} {stroke}"></span>')
    what = "gradients (backward pass)" if backward else "results (forward pass)"
    return ('<div style="font-size: 12px; color: #444; overflow-wrap: anywhere">'
            f'{swatch("ok")}right{swatch("wrong")}wrong{swatch("first")}first wrong'
            f'{swatch("unchecked")}not checked <span style="margin-left: 10px">'
            f'Boxes show expected and found {what}; arrows go from a node\'s inputs to the node, '
            '×2: an input used twice.</span></div>')


def render_html(picture):
    """The picture as an HTML fragment: the title, an inline SVG of the graph, a legend.

    picture = {"title": str, "quantity": "result" | "gradient",
               "nodes": [{"name", "text", "inputs": [indices of earlier nodes], "expected",
                          "found", "status": "ok" | "wrong" | "unchecked"}, ...],
               "first_wrong": index or None}
    Nodes are in topological order. Missing keys: title '', quantity 'result', nodes [], text the
    name (or '(node i)'), values '?', status 'unchecked', first_wrong the first node marked wrong
    in the order the pass visits them. More than MAX_DRAWN nodes: a table instead of a picture.
    """
    title, backward, raw, first = _read(picture)
    head = ('<div style="box-sizing: border-box; max-width: 100%; background: #fff; color: #222; '
            'font-family: sans-serif; font-size: 14px; line-height: 1.4; padding: 8px">')
    if title:
        head += ('<div style="font-weight: bold; overflow-wrap: anywhere">'
                 f'{html.escape(_shorten(title, 300))}</div>')
    if not raw:
        return head + "<div>(no computation graph to show)</div></div>"
    why = f"This graph has {len(raw)} nodes: too large to draw"
    if len(raw) <= MAX_DRAWN:
        svg = _svg([_node(node, i) for i, node in enumerate(raw)], first, title)
        why = "This graph has too many edges across layers to draw"
        if svg is not None:
            done = head + svg + _legend(backward) + "</div>"
            if len(done.encode("utf-8")) <= MAX_BYTES:
                return done
            why = "This graph has too much text to draw"
    head += f"<div>{why}, so here it is as a table.</div>"
    table = "\n".join(_table(backward, raw, first))
    return head + _pre(table, MAX_BYTES - len(head.encode("utf-8")) - 6) + "</div>"
