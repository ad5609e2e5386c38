"""Every message between the grading process, the zygote and a sandboxed child, and how each side
reads them.

The grading process asks the zygote (grader.sealed.zygote) for a child over a unix socket:

    parent -> zygote   {"start": ID, "limits": {...}} with the child's two pipe ends attached
    zygote -> parent   {"started": ID, "pid": PID}  or  {"failed": ID, "error": TEXT}
    zygote -> parent   {"exited": PID, "code": EXIT}   (code < 0: killed by signal -code)

One child grades the cases of one question that share a visibility. Then, over its two pipes:

    child  -> parent   {"confined": [LINE, ...]}          what walls it in, before any student code
    parent -> child    {"provided": CODE, "provided_at": K, "cells": [{"label", "source"}]}
    child  -> parent   {"loading": LABEL}                 before each cell runs
    child  -> parent   {"loaded": [{"cell", "error"}]}    the cells that raised
    parent -> child    {"case": K, "nonce": N, "source": CODE, "name", "params", "inputs"}
    child  -> parent   {"case": K, "nonce": N, "outcome": OUTCOME}
    parent -> child    {"done": true}

A frame is a 4-byte big-endian length and that many bytes. What the parent sends is `marshal`
data, read in the child by C code that student code cannot patch; what the child sends is JSON,
which the parent trusts in nothing: every read has a deadline and a size limit, and a frame that
is malformed, too large, out of turn or without the request's nonce is a protocol violation. The
nonce stays in the harness's local variables, so a reply written by student code straight to the
pipe cannot pass for the harness's own. It is a second layer: points come from values the
grading process judges, which only an honest engine produces (grader.authoring.declared).
"""

import json
import marshal
import os
import secrets
import select
import struct
import time

from grader.authoring.cases import read_outcome
from grader.authoring.codec import read_error

MAX_FRAME = 2 * 2**20      # bytes in one message from a child
MAX_TOTAL = 8 * 2**20      # bytes one child may send in all
MAX_LABEL = 200            # characters of a cell label
MAX_LINE = 500             # characters of a line about the child's confinement
MAX_NAMES = 50
MAX_CONTROL = 64 * 2**10   # bytes in one message between the grading process and the zygote
_HEADER = struct.Struct(">I")
# Bound now: the child reads with C functions student code cannot replace.
_read, _loads = os.read, marshal.loads


class Violation(Exception):
    """The child broke the protocol: garbage or oversized output, or (`forged`) a message out of
    turn or without the request's nonce, which only student code can have written."""

    def __init__(self, text, forged=False):
        super().__init__(text)
        self.forged = forged


def new_nonce():
    return secrets.token_hex(16)


# --- frames ------------------------------------------------------------------------------------

def to_child(message):
    data = marshal.dumps(message)
    return _HEADER.pack(len(data)) + data


def to_parent(message):
    data = json.dumps(message, allow_nan=True).encode()
    return _HEADER.pack(len(data)) + data


def write_all(fd, data, deadline=None):
    """Write `data` to a (possibly non-blocking) fd; False if the deadline passed first."""
    view = memoryview(data)
    while view:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                return False
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue
    return True


def read_from_parent(fd):
    """Child side: blocking read of one message from the (trusted) parent; None at EOF."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    data = _read_exactly(fd, _HEADER.unpack(header)[0])
    return None if data is None else _loads(data)


def _read_exactly(fd, n):
    chunks, left = [], n
    while left:
        chunk = _read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Reader:
    """Parent side: reassembles a child's frames from a non-blocking fd, within size limits."""

    def __init__(self, fd):
        self.fd, self.buffer, self.received, self.closed = fd, bytearray(), 0, False
        os.set_blocking(fd, False)

    def pump(self):
        """Read what is available; return the complete messages (decoded JSON, not validated).
        Raises Violation on an oversized or undecodable frame."""
        try:
            while True:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    self.closed = True
                    break
                self.received += len(chunk)
                if self.received > MAX_TOTAL:
                    raise Violation(f"it sent more than {MAX_TOTAL // 2**20} MB")
                self.buffer += chunk
        except BlockingIOError:
            pass
        messages = []
        while len(self.buffer) >= _HEADER.size:
            size = _HEADER.unpack_from(self.buffer)[0]
            if size > MAX_FRAME:
                raise Violation(f"it sent a message of {size} bytes")
            if len(self.buffer) < _HEADER.size + size:
                break
            data = bytes(self.buffer[_HEADER.size:_HEADER.size + size])
            del self.buffer[:_HEADER.size + size]
            try:
                messages.append(json.loads(data))
            except (ValueError, RecursionError) as error:
                raise Violation(f"it sent unreadable output ({type(error).__name__})")
        if self.closed and self.buffer:
            raise Violation("its last message was cut short")
        return messages


# --- the zygote --------------------------------------------------------------------------------

def control(message):
    return json.dumps(message).encode()


def read_control(data):
    """A message between the grading process and the zygote (both trusted)."""
    return json.loads(data)


def start(job_id, limits):
    return {"start": job_id, "limits": limits}


def started(job_id, pid):
    return {"started": job_id, "pid": pid}


def failed(job_id, error):
    return {"failed": job_id, "error": str(error)[:MAX_LINE]}


def exited(pid, code):
    return {"exited": pid, "code": code}


# --- what the parent says to a child --------------------------------------------------------------

def job(provided, provided_at, cells):
    """`provided` is the provided code, compiled (marshal carries code objects); it runs before
    `cells[provided_at]`, where the notebook has it."""
    return {"provided": provided, "provided_at": provided_at, "cells": cells}


def request(case_id, nonce, code, name, params, inputs):
    """A case: its probe compiled (`code`), the probe function's name, the student names it
    takes and its inputs."""
    return {"case": case_id, "nonce": nonce, "source": code, "name": name, "params": params,
            "inputs": inputs}


DONE = {"done": True}


# --- what a child says, and how the parent reads it -----------------------------------------------

def confined(lines):
    return {"confined": lines}


def loading(label):
    return {"loading": label}


def loaded(errors):
    return {"loaded": errors}


def reply(req, outcome):
    return {"case": req["case"], "nonce": req["nonce"], "outcome": outcome}


def check_confined(message):
    """The lines of a "confined" message, or None if it is not one."""
    if isinstance(message, dict) and set(message) == {"confined"} \
            and isinstance(message["confined"], list):
        return [str(line)[:MAX_LINE] for line in message["confined"][:MAX_NAMES]]
    return None


def check_loading(message):
    if isinstance(message, dict) and set(message) == {"loading"} \
            and isinstance(message["loading"], str):
        return message["loading"][:MAX_LABEL]
    return None


def check_loaded(message):
    """The list of {"cell", "error"} of a "loaded" message, or None if it is not one."""
    if not isinstance(message, dict) or set(message) != {"loaded"} \
            or not isinstance(message["loaded"], list):
        return None
    errors = message["loaded"][:1000]
    if not all(isinstance(e, dict) and set(e) == {"cell", "error"}
               and isinstance(e["cell"], str) for e in errors):
        return None
    return [{"cell": e["cell"][:MAX_LABEL], "error": read_error(e["error"])} for e in errors]


def check_reply(message, case_id, nonce):
    """The validated outcome of the reply to request (case_id, nonce). Raises Violation for
    anything else: a forged or out-of-turn reply."""
    if not isinstance(message, dict) or set(message) != {"case", "nonce", "outcome"}:
        raise Violation("it sent a message that is not a reply", forged=True)
    found = message["nonce"]
    if message["case"] != case_id or not isinstance(found, str) or not found.isascii() \
            or not secrets.compare_digest(found, nonce):
        raise Violation("it sent a reply that the grading harness did not write", forged=True)
    return read_outcome(message["outcome"])
