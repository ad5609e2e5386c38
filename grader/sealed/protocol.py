"""The messages between the grading process and a sandboxed child, and how they are read.

One child grades one question. The grading process starts it with the pristine provided code and
the student cells the question needs; the child loads them and then answers requests, one case
at a time, so it never holds a probe it is not running:

    child  -> parent   {"confined": [LINE, ...]}          what walls it in, before any student code
    child  -> parent   {"loading": LABEL}                 before each cell runs
    child  -> parent   {"loaded": [{"cell", "error"}]}    the cells that raised
    parent -> child    {"case": K, "nonce": N, "source", "name", "params", "inputs"}
    child  -> parent   {"case": K, "nonce": N, "outcome": OUTCOME, "refused": [..]}
    parent -> child    {"done": true}

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON. The parent trusts
nothing it reads: every read has a deadline and a size limit, and a frame that is malformed,
too large, out of turn or without the request's nonce is a protocol violation. The nonce is
never visible to student code (it stays in the harness's local variables), so a reply written by
student code straight to the pipe cannot pass for the harness's own.
"""

import json
import os
import secrets
import select
import struct
import time

from grader.authoring import codec

MAX_FRAME = 2 * 2**20      # bytes in one message
MAX_TOTAL = 8 * 2**20      # bytes one child may send in all
MAX_ERROR = 3_000          # characters of an error message
MAX_LABEL = 200            # characters of a cell label
MAX_LINE = 500             # characters of a line about the child's confinement
MAX_NAMES = 50
_HEADER = struct.Struct(">I")


class Violation(Exception):
    """The child broke the protocol: garbage or oversized output, or (`forged`) a message out of
    turn or without the request's nonce, which only student code can have written."""

    def __init__(self, text, forged=False):
        super().__init__(text)
        self.forged = forged


def new_nonce():
    return secrets.token_hex(16)


def frame(message):
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


def read_frame(fd):
    """Blocking read of one frame (child side, where the parent is trusted); None at EOF."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    data = _read_exactly(fd, _HEADER.unpack(header)[0])
    return None if data is None else json.loads(data)


def _read_exactly(fd, n):
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Reader:
    """Parent side: reassembles frames from a non-blocking fd, within size limits."""

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


# --- what each side may say -------------------------------------------------------------------

def confined(lines):
    return {"confined": lines}


def loading(label):
    return {"loading": label}


def loaded(errors):
    return {"loaded": errors}


def request(case_id, nonce, spec_source, spec_name, params, inputs):
    return {"case": case_id, "nonce": nonce, "source": spec_source, "name": spec_name,
            "params": params, "inputs": inputs}


def reply(req, outcome, refused):
    return {"case": req["case"], "nonce": req["nonce"], "outcome": outcome, "refused": refused}


DONE = {"done": True}


def check_confined(message):
    """The lines of a "confined" message, or None if it is not one."""
    if set(message) == {"confined"} and isinstance(message["confined"], list):
        return [str(line)[:MAX_LINE] for line in message["confined"][:MAX_NAMES]]
    return None


def check_loading(message):
    if set(message) == {"loading"} and isinstance(message["loading"], str):
        return message["loading"][:MAX_LABEL]
    return None


def check_loaded(message):
    """The list of {"cell", "error"} of a "loaded" message, or None if it is not one."""
    if set(message) != {"loaded"} or not isinstance(message["loaded"], list):
        return None
    errors = message["loaded"][:1000]
    if not all(isinstance(e, dict) and set(e) == {"cell", "error"}
               and all(isinstance(v, str) for v in e.values()) for e in errors):
        return None
    return [{"cell": e["cell"][:MAX_LABEL], "error": e["error"][:MAX_ERROR]} for e in errors]


def check_reply(message, case_id, nonce):
    """(outcome, refused) of the reply to request (case_id, nonce), decoded and validated.
    Raises Violation for anything else: a forged or out-of-turn reply."""
    if not isinstance(message, dict) or set(message) != {"case", "nonce", "outcome", "refused"}:
        raise Violation("it sent a message that is not a reply", forged=True)
    if message["case"] != case_id or not isinstance(message["nonce"], str) \
            or not secrets.compare_digest(message["nonce"], nonce):
        raise Violation("it sent a reply that the grading harness did not write", forged=True)
    refused = message["refused"]
    if not isinstance(refused, list) or not all(isinstance(r, str) for r in refused):
        raise Violation("it sent a malformed reply")
    return read_outcome(message["outcome"]), [r[:MAX_LABEL] for r in refused[:MAX_NAMES]]


def read_outcome(raw):
    """Validate a probe's outcome (see grader.authoring.cases.run_probe). Never raises: a value
    that cannot be read becomes an error outcome for that case alone."""
    if isinstance(raw, dict) and set(raw) == {"value"}:
        try:
            return {"value": codec.decode(raw["value"])}
        except codec.InvalidData as error:
            return {"error": f"The values your code produced could not be read ({error})."}
        except Exception as error:  # noqa: BLE001 - forged data may break any constructor
            return {"error": "The values your code produced could not be read "
                             f"({type(error).__name__})."}
    if isinstance(raw, dict) and set(raw) == {"error"} and isinstance(raw["error"], str):
        return {"error": raw["error"][:MAX_ERROR]}
    if (isinstance(raw, dict) and set(raw) == {"missing"} and isinstance(raw["missing"], list)
            and all(isinstance(n, str) for n in raw["missing"])):
        return {"missing": [n[:100] for n in raw["missing"][:MAX_NAMES]]}
    return {"error": "The values your code produced could not be read (unexpected outcome)."}
