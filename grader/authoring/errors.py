"""An error raised by student code, as data and as a message in the student's terms.

Beside student code (`error_outcome`) an exception becomes plain data: its type, its text and the
(file, line, function) of each frame, read from the interpreter's own traceback printer (C code:
the sealed child refuses Python-level access to frames). Where the verdict is written
(`describe`), the message quotes only lines of cells whose source the caller holds itself: the
student's cells and the provided code, never a probe, never anything student code could have
planted, such as a `linecache` entry.
"""

import io
import re
import sys

MAX_TEXT = 300      # characters of an error's own text in a message
MAX_FRAMES = 40     # innermost frames kept
MAX_LINE = 160      # characters of a quoted source line
MAIN_MARK = "# MAIN CODE"
PROTECTED_MARK = "# Do not change the code in this cell."


def error_outcome(error):
    """{"type", "text", "frames": [[file, line, function], ...]} of an exception (innermost
    frame last). Never raises, whatever the student's exception does when printed."""
    kind = type(error).__name__[:100]
    try:
        text = str(error).strip()
    except BaseException:  # noqa: B036 - a student's exception class may not even print
        text = ""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "..."
    if isinstance(error, RecursionError):
        text += " (the recursion is too deep: does your code call itself without end?)"
    return {"type": kind, "text": text, "frames": _frames(error)[-MAX_FRAMES:]}


def _frames(error):
    stream, saved = io.StringIO(), sys.stderr
    sys.stderr = stream
    try:  # printed with a plain exception: the student's own may not print, or print 16 MB
        sys.__excepthook__(Exception, Exception(), error.__traceback__)
    except BaseException:  # noqa: B036
        return []
    finally:
        sys.stderr = saved
    return [[f[:300], int(n), fn[:100]] for f, n, fn in
            re.findall(r'^  File "(.*)", line (\d+), in (.*)$', stream.getvalue(), re.M)]


def describe(error, sources):
    """One paragraph for the student: what was raised, and where in the notebook.

    `error` is an `error_outcome` (validated); `sources` maps file names to (source, name),
    where name says how the student knows the cell ("your `# MAIN CODE` cell"). Frames in other
    files are not shown. When the error surfaced in provided code, the chain of calls is
    followed back to the student's own cell."""
    kind, text = error.get("type", ""), error.get("text", "")
    if not kind:  # not an exception: a message of the grader's about the values
        return text
    message = f"Your code raised {kind}" + (f": {text}" if text else "")
    frames = [f for f in error.get("frames", []) if f[0] in sources]
    if not frames:
        return message
    where = ["in " + _where(frames[-1], sources)]
    if _is_provided(frames[-1], sources):
        for frame in reversed(frames[:-1]):
            where.append("called from " + _where(frame, sources))
            if not _is_provided(frame, sources):
                break
    return message + "".join(f"\n  {line}" for line in where)


def _is_provided(frame, sources):
    return sources[frame[0]][1].startswith("the provided code")


def _where(frame, sources):
    filename, line, function = frame
    source, name = sources[filename]
    lines = source.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    if len(text) > MAX_LINE:
        text = text[:MAX_LINE] + "..."
    where = f"line {line} of {name}" if function == "<module>" else \
        f"{function} (line {line} of {name})"
    return where + (f": {text}" if text else "")


def cell_name(source):
    """A student's cell as the student knows it, from its first line."""
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if first.startswith(MAIN_MARK):
        return "your `# MAIN CODE` cell"
    if len(first) > 40:
        first = first[:first.rfind(" ", 20, 40) if " " in first[20:40] else 40].rstrip() + "…"
    return f"your cell starting `{first}`" if first else "your notebook"


def provided_name(heading):
    return f"the provided code in the cell under '{heading}'"


def kernel_label(source, headings):
    """How the student knows a cell of their kernel. `headings` maps the provided cells'
    sources (stripped) to the headings they stand under."""
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if first == PROTECTED_MARK:
        heading = headings.get(source.strip())
        return provided_name(heading) if heading else \
            "the provided code in a \"Do not change\" cell"
    return cell_name(source)


def cell_source(cell):
    """A notebook cell's source (nbformat or plain JSON, where it may be a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def is_protected(source):
    """A "Do not change" cell: its marker line stands among the comments that open it (a
    comment added above the marker is not an edit)."""
    for line in source.splitlines():
        line = line.strip()
        if line == PROTECTED_MARK:
            return True
        if line and not line.startswith("#"):
            return False
    return False


def protected_cells(notebook):
    """[(heading, source)] of the "Do not change" cells of a notebook (nbformat or plain JSON),
    each with the last markdown heading above it: how the student knows them."""
    found, heading = [], "the notebook"
    for cell in notebook.get("cells", []):
        source = cell_source(cell)
        if cell.get("cell_type") == "markdown":
            titles = [line.lstrip("#").strip() for line in source.splitlines()
                      if line.startswith("#")]
            heading = titles[-1] if titles else heading
        elif cell.get("cell_type") == "code" and is_protected(source):
            found.append((heading, source))
    return found
