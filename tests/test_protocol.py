"""Unit tests of the messages between the grading process, the zygote and a child
(grader.sealed.protocol), of the outcome reader (grader.authoring.cases.read_outcome) and of the
value codec (grader.authoring.codec), fed forged, truncated, oversized and malformed input
directly, over plain pipes."""

import json
import marshal
import math
import os
import struct
import threading
import time

import pytest
import torch

from grader.authoring import codec
from grader.authoring.cases import read_outcome
from grader.sealed import protocol
from grader.sealed.protocol import Violation

HEADER = struct.Struct(">I")
NONCE = "0123456789abcdef" * 2
UNREADABLE = "The values your code produced could not be read ("


@pytest.fixture
def pipe():
    """(read fd, write fd); both closed afterwards unless the test closed them."""
    read_fd, write_fd = os.pipe()
    fds = {"r": read_fd, "w": write_fd}
    yield fds
    for fd in fds.values():
        try:
            os.close(fd)
        except OSError:
            pass


def close_writer(fds):
    os.close(fds.pop("w"))


def raw_frame(data):
    data = data if isinstance(data, bytes) else data.encode()
    return HEADER.pack(len(data)) + data


def pump_raises(reader):
    with pytest.raises(Violation) as error:
        reader.pump()
    return error.value


def feed(fds, reader, data, seconds=5):
    """Write `data` from a thread (it may not fit in the pipe) while the reader pumps; return
    (messages, violation or None) once everything was read or a Violation stopped the reader."""
    def write():
        try:
            os.write(fds["w"], data)
        except OSError:
            pass  # the reader stopped reading

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    messages, violation = [], None
    deadline = time.monotonic() + seconds
    while violation is None and time.monotonic() < deadline:
        done = not thread.is_alive()
        try:
            messages += reader.pump()
        except Violation as error:
            violation = error
        if done:
            break
        time.sleep(0.0005)
    if violation is not None:
        os.close(fds.pop("r"))  # unblocks the writer
    thread.join(seconds)
    assert not thread.is_alive()
    return messages, violation


def unreadable(outcome):
    """The error text of an outcome that could not be read, or None."""
    error = outcome.get("error") if set(outcome) == {"error"} else None
    if error and error["type"] == "" and error["frames"] == [] and \
            error["text"].startswith(UNREADABLE):
        return error["text"]
    return None


# --- frames, parent -> child (marshal) -----------------------------------------------------------

def test_to_child_frame_layout():
    data = protocol.to_child({"a": [1, 2.5, None, "é"]})
    assert HEADER.unpack_from(data)[0] == len(data) - 4
    assert marshal.loads(data[4:]) == {"a": [1, 2.5, None, "é"]}


def test_a_compiled_probe_crosses_to_the_child_and_runs(pipe):
    code = compile("def probe(x, *, k):\n    return [x * k, math.pi > 3]\n", "<probe>", "exec")
    request = protocol.request(3, NONCE, code, "probe", ["x"], {"k": 2})
    job = protocol.job(compile("class ComputationNode:\n    pass\n", "<provided cell>", "exec"),
                       1, [{"label": "cell 1", "source": "x = 21"}])
    for message in (job, request, protocol.DONE):
        os.write(pipe["w"], protocol.to_child(message))
    close_writer(pipe)
    got_job = protocol.read_from_parent(pipe["r"])
    got_request = protocol.read_from_parent(pipe["r"])
    assert protocol.read_from_parent(pipe["r"]) == {"done": True}
    assert protocol.read_from_parent(pipe["r"]) is None  # EOF
    assert got_job["provided_at"] == 1 and got_job["cells"] == [{"label": "cell 1",
                                                                 "source": "x = 21"}]
    scope = {}
    exec(got_job["provided"], scope)
    assert scope["ComputationNode"].__name__ == "ComputationNode"
    assert {k: v for k, v in got_request.items() if k != "source"} == \
        {"case": 3, "nonce": NONCE, "name": "probe", "params": ["x"], "inputs": {"k": 2}}
    assert got_request["source"].co_filename == "<probe>"
    scope = {"math": math}
    exec(got_request["source"], scope)
    assert scope["probe"](21, k=2) == [42, True]


def test_read_from_parent_reads_a_frame_larger_than_a_read(pipe):
    message = {"cells": [{"label": "c", "source": "x" * (3 << 20)}]}
    data = protocol.to_child(message)
    thread = threading.Thread(target=os.write, args=(pipe["w"], data))
    thread.start()
    try:
        assert protocol.read_from_parent(pipe["r"]) == message
    finally:
        thread.join(5)


@pytest.mark.parametrize("cut", [2, 4, 10])
def test_read_from_parent_returns_none_for_a_frame_cut_short(pipe, cut):
    os.write(pipe["w"], protocol.to_child({"x": "y" * 100})[:cut])
    close_writer(pipe)
    assert protocol.read_from_parent(pipe["r"]) is None


def test_read_from_parent_uses_the_functions_bound_at_import(pipe, monkeypatch):
    """Student code that replaces os.read or marshal.loads does not see the requests."""
    def spy(*args):
        raise AssertionError("a patched function was called")

    os.write(pipe["w"], protocol.to_child({"case": 1, "nonce": NONCE}))
    monkeypatch.setattr(os, "read", spy)
    monkeypatch.setattr(marshal, "loads", spy)
    assert protocol.read_from_parent(pipe["r"]) == {"case": 1, "nonce": NONCE}


# --- frames, child -> parent (JSON) --------------------------------------------------------------

def test_to_parent_frame_layout():
    data = protocol.to_parent({"a": [1, 2.5, None, "é"]})
    assert HEADER.unpack_from(data)[0] == len(data) - 4
    assert json.loads(data[4:]) == {"a": [1, 2.5, None, "é"]}


def test_non_finite_numbers_cross(pipe):
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], protocol.to_parent({"v": [math.inf, -math.inf, math.nan]}))
    [message] = reader.pump()
    assert message["v"][:2] == [math.inf, -math.inf] and math.isnan(message["v"][2])


def test_write_all_writes_everything_to_a_non_blocking_fd(pipe):
    reader = protocol.Reader(pipe["r"])
    os.set_blocking(pipe["w"], False)
    message = {"big": "z" * 300_000}  # larger than a pipe buffer
    received = []
    done = threading.Event()

    def drain():
        while not done.is_set() and not received:
            received.extend(reader.pump())
            time.sleep(0.001)

    thread = threading.Thread(target=drain)
    thread.start()
    try:
        assert protocol.write_all(pipe["w"], protocol.to_parent(message),
                                  time.monotonic() + 5) is True
    finally:
        thread.join(5)  # the drain stops once it has the message
        done.set()
    assert received == [message]


def test_write_all_gives_up_at_its_deadline_on_a_full_pipe(pipe):
    os.set_blocking(pipe["w"], False)
    while True:  # fill the pipe
        try:
            os.write(pipe["w"], b"x" * 65536)
        except BlockingIOError:
            break
    started = time.monotonic()
    assert protocol.write_all(pipe["w"], b"y" * 100, started + 0.2) is False  # nobody reads
    assert 0.15 < time.monotonic() - started < 2


def test_write_all_with_a_deadline_already_past_writes_nothing(pipe):
    reader = protocol.Reader(pipe["r"])
    assert protocol.write_all(pipe["w"], protocol.to_parent({"a": 1}),
                              time.monotonic() - 1) is False
    assert reader.pump() == []


# --- Reader --------------------------------------------------------------------------------------

def test_reader_reassembles_a_frame_split_across_writes(pipe):
    reader = protocol.Reader(pipe["r"])
    data = protocol.to_parent({"loading": "cell 7"}) + protocol.to_parent({"loaded": []})
    os.write(pipe["w"], data[:2])  # inside the header
    assert reader.pump() == []
    os.write(pipe["w"], data[2:6])  # the header and the body's first byte
    assert reader.pump() == []
    os.write(pipe["w"], data[6:-3])
    assert reader.pump() == [{"loading": "cell 7"}]
    os.write(pipe["w"], data[-3:])
    assert reader.pump() == [{"loaded": []}]
    assert not reader.closed


def test_reader_returns_several_frames_at_once(pipe):
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], b"".join(protocol.to_parent({"n": i}) for i in range(50)))
    assert reader.pump() == [{"n": i} for i in range(50)]


def test_reader_does_not_block_on_a_partial_frame(pipe):
    reader = protocol.Reader(pipe["r"])
    assert not os.get_blocking(pipe["r"])
    data = protocol.to_parent({"x": "y" * 1000})
    os.write(pipe["w"], data[:500])
    started = time.monotonic()
    assert reader.pump() == []
    assert reader.pump() == []
    assert time.monotonic() - started < 0.5
    assert not reader.closed
    os.write(pipe["w"], data[500:])
    assert reader.pump() == [{"x": "y" * 1000}]


def test_reader_on_an_empty_pipe_returns_nothing(pipe):
    reader = protocol.Reader(pipe["r"])
    assert reader.pump() == []
    assert not reader.closed


def test_reader_refuses_an_announced_frame_over_max_frame(pipe):
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], HEADER.pack(protocol.MAX_FRAME + 1))  # only the header: no waiting
    violation = pump_raises(reader)
    assert str(violation) == f"it sent a message of {protocol.MAX_FRAME + 1} bytes"
    assert violation.forged is False


def test_reader_refuses_the_largest_announced_frame(pipe):
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], b"\xff\xff\xff\xff")
    assert pump_raises(reader).forged is False


def test_reader_accepts_a_frame_of_exactly_max_frame(pipe):
    reader = protocol.Reader(pipe["r"])
    body = json.dumps("a" * (protocol.MAX_FRAME - 2)).encode()
    assert len(body) == protocol.MAX_FRAME
    messages, violation = feed(pipe, reader, raw_frame(body))
    assert violation is None
    assert messages == ["a" * (protocol.MAX_FRAME - 2)]


@pytest.mark.parametrize("body, kind", [
    (b"{not json", "JSONDecodeError"),
    (b"", "JSONDecodeError"),
    (b"\xff\xfe\x00", "UnicodeDecodeError"),
    (b"[" * 100_000 + b"]" * 100_000, "RecursionError"),
    (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "RecursionError"),
    (b"1" + b"0" * 5000, "ValueError"),  # 10**5000 written out: over Python's digit limit
    (b'{"outcome": {"value": -' + b"9" * 5000 + b"}}", "ValueError"),
])
def test_reader_refuses_unreadable_frames(pipe, body, kind):
    reader = protocol.Reader(pipe["r"])
    messages, violation = feed(pipe, reader, raw_frame(body))
    assert messages == []
    assert violation is not None
    assert str(violation) == f"it sent unreadable output ({kind})"
    assert violation.forged is False


def test_reader_refuses_more_than_max_total_bytes(pipe):
    reader = protocol.Reader(pipe["r"])
    chunk = protocol.to_parent("b" * (protocol.MAX_FRAME - 100))  # each frame is valid
    frames = protocol.MAX_TOTAL // len(chunk) + 2
    received, violation = feed(pipe, reader, chunk * frames)
    assert violation is not None
    assert str(violation) == f"it sent more than {protocol.MAX_TOTAL // 2**20} MB"
    assert violation.forged is False
    assert protocol.MAX_TOTAL < reader.received <= protocol.MAX_TOTAL + (1 << 16)  # at once
    assert len(received) <= protocol.MAX_TOTAL // len(chunk)
    assert all(r == "b" * (protocol.MAX_FRAME - 100) for r in received)


def test_reader_closed_after_eof(pipe):
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], protocol.to_parent({"loaded": []}))
    close_writer(pipe)
    assert reader.pump() == [{"loaded": []}]
    assert reader.closed
    assert reader.pump() == []


def test_reader_refuses_eof_inside_a_frame(pipe):
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], protocol.to_parent({"loaded": []})[:-2])
    close_writer(pipe)
    violation = pump_raises(reader)
    assert str(violation) == "its last message was cut short"
    assert violation.forged is False
    assert reader.closed


def test_reader_refuses_eof_inside_a_header(pipe):
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], protocol.to_parent({"loading": "a"}) + b"\x00\x00")
    close_writer(pipe)
    assert str(pump_raises(reader)) == "its last message was cut short"


# --- the zygote's control messages ---------------------------------------------------------------

def test_control_messages_round_trip():
    limits = {"memory_mb": 3072, "cpu_seconds": 22, "uid": None}
    for message, expected in [
            (protocol.start(4, limits), {"start": 4, "limits": limits}),
            (protocol.started(4, 1234), {"started": 4, "pid": 1234}),
            (protocol.failed(4, OSError(11, "no more processes")),
             {"failed": 4, "error": "[Errno 11] no more processes"}),
            (protocol.exited(1234, -9), {"exited": 1234, "code": -9})]:
        data = protocol.control(message)
        assert isinstance(data, bytes) and len(data) < protocol.MAX_CONTROL
        assert protocol.read_control(data) == expected


def test_failed_caps_its_text():
    assert protocol.failed(1, "e" * 10_000) == {"failed": 1, "error": "e" * protocol.MAX_LINE}


# --- confined / loading / loaded -----------------------------------------------------------------

def test_check_confined():
    assert protocol.check_confined(protocol.confined(["a", "b"])) == ["a", "b"]
    assert protocol.check_confined({"confined": []}) == []
    assert protocol.check_confined({"confined": ["x" * 5000] * 500}) == \
        ["x" * protocol.MAX_LINE] * protocol.MAX_NAMES
    assert protocol.check_confined({"confined": [1, None, ["a"]]}) == ["1", "None", "['a']"]


@pytest.mark.parametrize("message", [
    {"confined": "all of it"}, {"confined": None}, {"confined": {"a": 1}},
    {"confined": [], "extra": 1}, {"loading": "a"}, {}, ["confined"], "confined", None,
], ids=repr)
def test_check_confined_refuses_other_messages(message):
    assert protocol.check_confined(message) is None


def test_check_loading():
    assert protocol.check_loading(protocol.loading("cell 3")) == "cell 3"
    assert protocol.check_loading({"loading": "x" * 1000}) == "x" * protocol.MAX_LABEL
    for message in ({"loading": 3}, {"loading": None}, {"loading": ["a"]},
                    {"loading": "a", "extra": 1}, {}, {"loaded": []}, ["loading"], None):
        assert protocol.check_loading(message) is None, message


def test_check_loaded_reads_errors_as_structured_errors():
    assert protocol.check_loaded(protocol.loaded([])) == []
    error = {"type": "NameError", "text": "name 'x' is not defined",
             "frames": [["cell 2", 3, "<module>"]]}
    assert protocol.check_loaded({"loaded": [{"cell": "cell 2", "error": error}]}) == \
        [{"cell": "cell 2", "error": error}]
    long = {"cell": "c" * 500, "error": {"type": "T" * 500, "text": "e" * 5000,
                                         "frames": [["f" * 500, 1, "g" * 500]] * 100}}
    [read] = protocol.check_loaded({"loaded": [long]})
    assert read["cell"] == "c" * protocol.MAX_LABEL
    assert read["error"] == {"type": "T" * 100, "text": "e" * codec.MAX_TEXT,
                             "frames": [["f" * 300, 1, "g" * 100]] * 50}
    assert len(protocol.check_loaded({"loaded": [{"cell": "a", "error": error}] * 5000})) == 1000


def test_check_loaded_turns_a_malformed_error_into_an_error_without_location():
    [read] = protocol.check_loaded({"loaded": [{"cell": "a", "error": "boom"}]})
    assert read == {"cell": "a", "error": {
        "type": "", "text": "Your code raised an error that could not be read.", "frames": []}}


@pytest.mark.parametrize("message", [
    {"loaded": None},
    {"loaded": {"cell": "a", "error": {}}},
    {"loaded": "a"},
    {"loaded": [], "extra": 1},
    {"loaded": [{"cell": "a"}]},
    {"loaded": [{"cell": "a", "error": {}, "more": "c"}]},
    {"loaded": [{"cell": 1, "error": {}}]},
    {"loaded": [{"cell": None, "error": {}}]},
    {"loaded": [["a", {}]]},
    {"loaded": [{"cell": "a", "error": {}}, "x"]},
    {"loading": "a"},
    {},
    None,
], ids=repr)
def test_check_loaded_refuses_malformed_shapes(message):
    assert protocol.check_loaded(message) is None


# --- replies -------------------------------------------------------------------------------------

def reply(**changes):
    message = {"case": 4, "nonce": NONCE, "outcome": {"value": 2.5}}
    message.update(changes)
    return message


def test_new_nonce_is_fresh_and_long():
    nonces = {protocol.new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in nonces)


def test_check_reply_accepts_the_reply_to_the_current_request():
    assert protocol.check_reply(reply(), 4, NONCE) == {"value": 2.5}


def test_a_reply_built_by_the_child_is_accepted_after_crossing_the_pipe(pipe):
    request = protocol.request(9, NONCE, compile("1", "<probe>", "eval"), "probe", ["Mul"], {})
    message = protocol.reply(request, {"missing": ["Mul"]})
    assert message == {"case": 9, "nonce": NONCE, "outcome": {"missing": ["Mul"]}}
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], protocol.to_parent(message))
    [received] = reader.pump()
    assert protocol.check_reply(received, 9, NONCE) == {"missing": ["Mul"]}


@pytest.mark.parametrize("message", [
    reply(nonce="f" * 32),
    reply(nonce=NONCE[:-1]),
    reply(nonce=NONCE + "0"),
    reply(nonce=NONCE.upper()),
    reply(nonce=""),
    reply(nonce=None),
    reply(nonce=[NONCE]),
    reply(nonce=int(NONCE, 16)),
    reply(case=5),
    reply(case="4"),
    reply(case=None),
    reply(case=[4]),
    {k: v for k, v in reply().items() if k != "nonce"},
    {k: v for k, v in reply().items() if k != "case"},
    {k: v for k, v in reply().items() if k != "outcome"},
    reply(refused=[]),  # the old protocol's field: no longer part of a reply
    reply(extra=1),
    {"loaded": []},
    {"loading": "cell 1"},
    {"confined": []},
    {},
    [4, NONCE, {"value": 1}],
    "reply",
    None,
], ids=lambda m: repr(m)[:60])
def test_check_reply_refuses_forged_replies(message):
    with pytest.raises(Violation) as error:
        protocol.check_reply(message, 4, NONCE)
    assert error.value.forged is True


@pytest.mark.parametrize("nonce", ["é" * 32, "\udcff" * 32, "€"],
                         ids=["accent", "surrogate", "euro"])
def test_check_reply_refuses_a_forged_non_ascii_nonce(nonce):
    with pytest.raises(Violation) as error:
        protocol.check_reply(reply(nonce=nonce), 4, NONCE)
    assert error.value.forged is True


def test_check_reply_reads_a_forged_outcome_as_an_error_of_that_case():
    outcome = protocol.check_reply(reply(outcome={"value": {"$": "pickle"}}), 4, NONCE)
    assert unreadable(outcome) == f"{UNREADABLE}unexpected value kind 'pickle' in the output)."


@pytest.mark.parametrize("outcome", [None, 3, "x", [], {}, {"value": 1, "error": {}},
                                     {"refused": []}], ids=repr)
def test_check_reply_turns_an_unexpected_outcome_into_an_error(outcome):
    assert unreadable(protocol.check_reply(reply(outcome=outcome), 4, NONCE)) == \
        f"{UNREADABLE}unexpected outcome)."


# --- read_outcome --------------------------------------------------------------------------------

def tensor(dtype="float32", shape=(2,), data=(1.0, 2.0)):
    return {"$": "tensor", "dtype": dtype, "shape": list(shape), "data": list(data)}


def test_read_outcome_decodes_well_formed_values():
    raw = {"value": [1.5, -3, True, None, "text", math.inf,
                     tensor("float64", (2, 3), range(6)),
                     tensor("int64", (0,), ()),
                     tensor("bool", (), (True,)),
                     {"$": "dict", "items": {"a": [1, 2], "b": tensor()}},
                     {"$": "node", "type": "Mul"},
                     {"$": "object", "type": "Foo"}]}
    value = read_outcome(raw)["value"]
    assert value[:6] == [1.5, -3, True, None, "text", math.inf]
    t = value[6]
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64 and t.shape == (2, 3)
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert value[7].dtype == torch.int64 and value[7].shape == (0,)
    assert value[8].dtype == torch.bool and value[8].shape == () and value[8].item() is True
    assert value[9]["a"] == [1, 2] and value[9]["b"].tolist() == [1.0, 2.0]
    assert value[9]["b"].dtype == torch.float32
    assert value[10] == {"$": "node", "type": "Mul"} and value[10].kind == "node"
    assert value[11].kind == "object" and value[11]["type"] == "Foo"


def test_read_outcome_keeps_nan():
    value = read_outcome({"value": [math.nan, tensor(data=(math.nan, 1.0))]})["value"]
    assert math.isnan(value[0])
    assert math.isnan(value[1][0].item()) and value[1][1].item() == 1.0


def test_read_outcome_passes_a_huge_int_as_an_int():
    """JSON ints are bounded by Python's digit limit (the Reader refuses longer ones); `decode`
    passes them on as they are (the judge compares values)."""
    huge = 10**4000
    assert read_outcome(json.loads(json.dumps({"value": huge}))) == {"value": huge}


def test_read_outcome_reads_errors_and_missing_names():
    error = {"type": "ZeroDivisionError", "text": "division by zero",
             "frames": [["<probe>", 3, "probe"], ["cell 1", 2, "forward"]]}
    assert read_outcome({"error": error}) == {"error": error}
    assert read_outcome({"error": "boom"}) == {"error": {
        "type": "", "text": "Your code raised an error that could not be read.", "frames": []}}
    assert read_outcome({"missing": ["Mul", "Add"]}) == {"missing": ["Mul", "Add"]}
    assert read_outcome({"missing": ["m" * 500] * 500}) == {"missing": ["m" * 100] * 50}
    assert read_outcome({"missing": []}) == {"missing": []}


def _deep(levels):
    value = 1.0
    for _ in range(levels):
        value = [value]
    return value


def _deep_dicts(levels):
    value = 1.0
    for _ in range(levels):
        value = {"$": "dict", "items": {"a": value}}
    return value


FORGED = {
    "shape and data disagree": tensor(shape=(2, 2), data=(1, 2, 3)),
    "too much data": tensor(shape=(1,), data=(1, 2)),
    "too little data": tensor(shape=(3,), data=(1, 2)),
    "scalar with no data": tensor(shape=(), data=()),
    "negative dimension": tensor(shape=(-2,), data=()),
    "float dimension": tensor(shape=(2.0,), data=(1, 2)),
    "string dimension": tensor(shape=("2",), data=(1, 2)),
    "null dimension": tensor(shape=(None,), data=()),
    "huge dimension": tensor(shape=(10**30,), data=()),
    "huge shape product": tensor(shape=(200_000, 200_000, 200_000), data=()),
    "too many dimensions": tensor(shape=[1] * (codec.MAX_DIMENSIONS + 1), data=(1,)),
    "more data than any tensor": tensor(shape=(codec.MAX_ITEMS + 1,),
                                        data=[0.0] * (codec.MAX_ITEMS + 1)),
    "shape not a list": {"$": "tensor", "dtype": "float32", "shape": 2, "data": [1, 2]},
    "data not a list": {"$": "tensor", "dtype": "float32", "shape": [1], "data": 1.0},
    "no data": {"$": "tensor", "dtype": "float32", "shape": [1]},
    "no dtype": {"$": "tensor", "shape": [1], "data": [1]},
    "dtype complex": tensor(dtype="complex64"),
    "dtype with prefix": tensor(dtype="torch.float32"),
    "dtype attribute name": tensor(dtype="Tensor"),
    "dtype not a string": tensor(dtype=["float32"]),
    "text data": tensor(data=("1", "2")),
    "nested data": tensor(data=([1], [2])),
    "null data": tensor(data=(None, None)),
    "int64 overflow": tensor(dtype="int64", shape=(1,), data=(10**30,)),
    "int8 overflow": tensor(dtype="int8", shape=(1,), data=(10**30,)),
    "float overflow": tensor(dtype="float32", shape=(1,), data=(10**400,)),
    "too deep": _deep(codec.MAX_DEPTH + 5),
    "far too deep": _deep(500),
    "deep dicts": _deep_dicts(codec.MAX_DEPTH + 5),
    "unknown kind": {"$": "pickle", "data": "gASV"},
    "kind not a string": {"$": 1},
    "no kind": {"a": 1},
    "dict without items": {"$": "dict", "items": [1]},
    "node without type": {"$": "node"},
    "object with non-text type": {"$": "object", "type": 3},
    "long text": "t" * (codec.MAX_TEXT + 1),
    "long text inside": [1, {"$": "dict", "items": {"k": "t" * (codec.MAX_TEXT + 1)}}],
    "long list": [0] * (codec.MAX_ITEMS + 1),
}


@pytest.mark.parametrize("raw", FORGED.values(), ids=FORGED.keys())
def test_read_outcome_turns_forged_values_into_errors(raw):
    assert unreadable(read_outcome({"value": raw})) is not None


@pytest.mark.parametrize("raw", [
    None, 3, "value", [], {}, {"value": 1, "error": {}}, {"missing": "Mul"},
    {"missing": [1]}, {"missing": None}, {"VALUE": 1}, {"value": 1, "refused": []},
], ids=repr)
def test_read_outcome_turns_unexpected_outcomes_into_errors(raw):
    assert unreadable(read_outcome(raw)) == f"{UNREADABLE}unexpected outcome)."


def test_read_outcome_accepts_the_deepest_allowed_nesting():
    assert read_outcome({"value": _deep(codec.MAX_DEPTH + 2)}) == \
        {"value": _deep(codec.MAX_DEPTH + 2)}
    assert unreadable(read_outcome({"value": _deep(codec.MAX_DEPTH + 3)})) is not None


def test_read_outcome_accepts_the_largest_allowed_tensor_and_list():
    value = read_outcome({"value": [tensor(shape=(codec.MAX_ITEMS,),
                                           data=[1.0] * codec.MAX_ITEMS),
                                    [0] * codec.MAX_ITEMS]})["value"]
    assert value[0].shape == (codec.MAX_ITEMS,) and len(value[1]) == codec.MAX_ITEMS


def test_read_outcome_is_fast_for_a_forged_shape_with_many_dimensions():
    raw = {"value": tensor(shape=[2] * 300_000, data=())}
    assert len(json.dumps(raw, separators=(",", ":"))) < protocol.MAX_FRAME
    started = time.perf_counter()
    outcome = read_outcome(raw)
    elapsed = time.perf_counter() - started
    assert unreadable(outcome) is not None
    assert elapsed < 0.25


# --- codec.read_error ----------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [None, "boom", 3, [], ["ZeroDivisionError", "x", []]], ids=repr)
def test_read_error_reads_a_non_error_as_an_error_without_location(raw):
    assert codec.read_error(raw) == {
        "type": "", "text": "Your code raised an error that could not be read.", "frames": []}


def test_read_error_keeps_only_well_formed_frames():
    frames = [["cell 1", 3, "f"], ["cell 1", "3", "f"], ["cell 1", 3.0, "f"],
              ["cell 1", True, "f"], [1, 3, "f"], ["cell 1", 3, None], ["cell 1", 3],
              ["cell 1", 3, "f", "extra"], "cell 1:3", None, {"file": "cell 1"},
              ["cell 2", 7, "<module>"]]
    assert codec.read_error({"type": "E", "text": "t", "frames": frames}) == {
        "type": "E", "text": "t", "frames": [["cell 1", 3, "f"], ["cell 2", 7, "<module>"]]}


def test_read_error_bounds_everything():
    read = codec.read_error({"type": "T" * 1000, "text": "x" * 10**5,
                             "frames": [["f" * 1000, i, "g" * 1000] for i in range(10_000)]})
    assert read["type"] == "T" * 100 and read["text"] == "x" * codec.MAX_TEXT
    assert read["frames"] == [["f" * 300, i, "g" * 100] for i in range(10_000 - 50, 10_000)]


def test_read_error_with_wrong_field_types():
    assert codec.read_error({"type": 3, "text": ["a"], "frames": "x"}) == \
        {"type": "Exception", "text": "", "frames": []}
    assert codec.read_error({}) == {"type": "Exception", "text": "", "frames": []}


# --- codec.encode / decode -----------------------------------------------------------------------

def test_encode_keeps_64_bit_ints_and_turns_larger_ints_into_floats():
    assert codec.encode(2**63 - 1) == 2**63 - 1 and type(codec.encode(2**63 - 1)) is int
    assert codec.encode(-2**63) == -2**63 and type(codec.encode(-2**63)) is int
    assert codec.encode(2**63) == 2.0**63 and type(codec.encode(2**63)) is float
    assert codec.encode(-2**64) == -(2.0**64) and type(codec.encode(-2**64)) is float
    assert codec.encode(10**400) == math.inf
    assert codec.encode(-10**400) == -math.inf
    assert codec.encode([10**400, 5]) == [math.inf, 5]


def test_encode_keeps_primitives():
    assert codec.encode(None) is None
    assert codec.encode(True) is True
    assert codec.encode(1.5) == 1.5
    assert math.isnan(codec.encode(math.nan))


def test_encode_caps_strings_and_drops_str_subclasses():
    class Sneaky(str):
        def __str__(self):
            raise RuntimeError

    assert codec.encode("s" * 10_000) == "s" * codec.MAX_TEXT
    encoded = codec.encode(Sneaky("abc"))
    assert encoded == "abc" and type(encoded) is str
    assert codec.encode({"k" * 5000: 1}) == {"$": "dict", "items": {"k" * codec.MAX_TEXT: 1}}


def test_encode_does_not_trust_subclasses_of_int_float_list_and_dict():
    class Int(int):
        pass

    class Float(float):
        pass

    class List(list):
        pass

    class Dict(dict):
        pass

    assert codec.encode(Int(3)) == 3.0 and type(codec.encode(Int(3))) is float
    assert codec.encode(Float(1.5)) == 1.5 and type(codec.encode(Float(1.5))) is float
    assert codec.encode(List([1])) == {"$": "object", "type": "List"}
    assert codec.encode(Dict(a=1)) == {"$": "object", "type": "Dict"}


def test_encode_tensors_and_decode_them_back():
    t = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    assert codec.encode(t) == {"$": "tensor", "dtype": "float64", "shape": [2, 3],
                               "data": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]}
    back = codec.decode(codec.encode(t))
    assert back.dtype == torch.float64 and torch.equal(back, t)
    assert codec.encode(torch.tensor(True)) == \
        {"$": "tensor", "dtype": "bool", "shape": [], "data": [True]}
    for dtype in codec.DTYPES:
        value = torch.ones(2, dtype=getattr(torch, dtype))
        back = codec.decode(json.loads(json.dumps(codec.encode(value))))
        assert back.dtype == value.dtype and torch.equal(back, value), dtype


def test_encode_turns_tensors_over_max_items_into_an_object_marker():
    assert codec.encode(torch.zeros(codec.MAX_ITEMS + 1)) == \
        {"$": "object", "type": "Tensor (too large)"}
    assert codec.encode(torch.zeros(codec.MAX_ITEMS))["shape"] == [codec.MAX_ITEMS]


def test_encode_stops_at_max_depth_and_marks_objects():
    encoded = codec.encode(_deep(20))
    depth = 0
    while isinstance(encoded, list):
        encoded, depth = encoded[0], depth + 1
    assert encoded == {"$": "object", "type": "list"}
    assert depth == codec.MAX_DEPTH + 1
    assert read_outcome({"value": codec.encode(_deep(20))}).keys() == {"value"}

    class ComputationNode:
        pass

    class Mul(ComputationNode):
        pass

    assert codec.encode(Mul()) == {"$": "node", "type": "Mul"}
    assert codec.encode(object()) == {"$": "object", "type": "object"}
    assert codec.encode((1, 2)) == [1, 2]


def test_decode_marks_nodes_and_objects_with_a_short_type():
    tagged = codec.decode({"$": "object", "type": "x" * 1000, "extra": "dropped"})
    assert tagged == {"$": "object", "type": "x" * 100} and tagged.kind == "object"
