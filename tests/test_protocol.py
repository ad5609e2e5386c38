"""Unit tests of the parent/child protocol (grader.sealed.protocol) and of the value codec
(grader.authoring.codec), fed forged and malformed input directly, over plain pipes."""

import json
import math
import os
import struct
import threading
import time

import pytest
import torch

from grader.authoring import codec
from grader.sealed import protocol
from grader.sealed.protocol import Violation

HEADER = struct.Struct(">I")


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


# --- frames -----------------------------------------------------------------------------------

def test_frame_layout():
    data = protocol.frame({"a": [1, 2.5, None, "é"]})
    size = HEADER.unpack_from(data)[0]
    assert size == len(data) - 4
    assert json.loads(data[4:]) == {"a": [1, 2.5, None, "é"]}


def test_frame_and_read_frame_round_trip(pipe):
    messages = [{"loading": "cell 1"}, {"loaded": []}, protocol.DONE,
                {"case": 3, "nonce": "ab", "outcome": {"value": [1.5, -2]}, "refused": []}]
    for message in messages:
        os.write(pipe["w"], protocol.frame(message))
    close_writer(pipe)
    assert [protocol.read_frame(pipe["r"]) for _ in messages] == messages
    assert protocol.read_frame(pipe["r"]) is None  # EOF


def test_read_frame_returns_none_for_a_frame_cut_short(pipe):
    os.write(pipe["w"], protocol.frame({"x": "y" * 100})[:20])
    close_writer(pipe)
    assert protocol.read_frame(pipe["r"]) is None


def test_non_finite_numbers_cross(pipe):
    os.write(pipe["w"], protocol.frame({"v": [math.inf, -math.inf]}))
    assert protocol.read_frame(pipe["r"]) == {"v": [math.inf, -math.inf]}


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
        assert protocol.write_all(pipe["w"], protocol.frame(message), time.monotonic() + 5)
    finally:
        thread.join(5)
        done.set()
    assert received == [message]


def test_write_all_gives_up_at_its_deadline(pipe):
    os.set_blocking(pipe["w"], False)
    started = time.monotonic()
    assert protocol.write_all(pipe["w"], b"x" * 2**21, started + 0.2) is False  # nobody reads
    assert time.monotonic() - started < 2


# --- Reader -----------------------------------------------------------------------------------

def test_reader_reassembles_a_frame_split_across_writes(pipe):
    reader = protocol.Reader(pipe["r"])
    data = protocol.frame({"loading": "cell 7"}) + protocol.frame({"loaded": []})
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
    os.write(pipe["w"], b"".join(protocol.frame({"n": i}) for i in range(50)))
    assert reader.pump() == [{"n": i} for i in range(50)]


def test_reader_does_not_block_on_a_partial_frame(pipe):
    reader = protocol.Reader(pipe["r"])
    assert not os.get_blocking(pipe["r"])
    data = protocol.frame({"x": "y" * 1000})
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


def test_reader_accepts_a_frame_of_exactly_max_frame(pipe):
    reader = protocol.Reader(pipe["r"])
    body = json.dumps("a" * (protocol.MAX_FRAME - 2)).encode()
    assert len(body) == protocol.MAX_FRAME
    messages, violation = feed(pipe, reader, raw_frame(body))
    assert violation is None
    assert messages == ["a" * (protocol.MAX_FRAME - 2)]


@pytest.mark.parametrize("body, kind", [
    (b"{not json", "JSONDecodeError"),
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
    chunk = protocol.frame("b" * (protocol.MAX_FRAME - 100))  # each frame is valid
    frames = protocol.MAX_TOTAL // len(chunk) + 2
    received, violation = feed(pipe, reader, chunk * frames)
    assert violation is not None
    assert str(violation) == f"it sent more than {protocol.MAX_TOTAL // 2**20} MB"
    assert violation.forged is False
    assert reader.received > protocol.MAX_TOTAL
    assert reader.received <= protocol.MAX_TOTAL + (1 << 16)  # it stopped at once
    # frames that arrived before the limit may or may not have been handed out first
    assert len(received) <= protocol.MAX_TOTAL // len(chunk)
    assert all(r == "b" * (protocol.MAX_FRAME - 100) for r in received)


def test_reader_closed_after_eof(pipe):
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], protocol.frame({"loaded": []}))
    close_writer(pipe)
    assert reader.pump() == [{"loaded": []}]
    assert reader.closed
    assert reader.pump() == []


def test_reader_refuses_eof_inside_a_frame(pipe):
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], protocol.frame({"loaded": []})[:-2])
    close_writer(pipe)
    violation = pump_raises(reader)
    assert str(violation) == "its last message was cut short"
    assert reader.closed


def test_reader_refuses_eof_inside_a_header(pipe):
    reader = protocol.Reader(pipe["r"])
    os.write(pipe["w"], protocol.frame({"loading": "a"}) + b"\x00\x00")
    close_writer(pipe)
    with pytest.raises(Violation, match="cut short"):
        reader.pump()


# --- replies ----------------------------------------------------------------------------------

NONCE = "0123456789abcdef" * 2


def reply(**changes):
    message = {"case": 4, "nonce": NONCE, "outcome": {"value": 2.5}, "refused": ["torch.func"]}
    message.update(changes)
    return message


def test_new_nonce_is_fresh_and_long():
    nonces = {protocol.new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in nonces)


def test_check_reply_accepts_the_reply_to_the_current_request():
    assert protocol.check_reply(reply(), 4, NONCE) == ({"value": 2.5}, ["torch.func"])


def test_reply_builds_what_check_reply_accepts():
    request = protocol.request(9, NONCE, "src", "name", {"p": 1}, [1, 2])
    assert request == {"case": 9, "nonce": NONCE, "source": "src", "name": "name",
                       "params": {"p": 1}, "inputs": [1, 2]}
    message = protocol.reply(request, {"missing": ["Mul"]}, [])
    assert protocol.check_reply(json.loads(protocol.frame(message)[4:]), 9, NONCE) == \
        ({"missing": ["Mul"]}, [])


@pytest.mark.parametrize("message", [
    reply(nonce="f" * 32),
    reply(nonce=NONCE[:-1]),
    reply(nonce=NONCE.upper()),
    reply(nonce=None),
    reply(nonce=[NONCE]),
    reply(case=5),
    reply(case="4"),
    reply(case=None),
    {k: v for k, v in reply().items() if k != "nonce"},
    {k: v for k, v in reply().items() if k != "refused"},
    {k: v for k, v in reply().items() if k != "outcome"},
    reply(extra=1),
    {"loaded": []},
    {},
    [4, NONCE, {"value": 1}, []],
    "reply",
    None,
], ids=lambda m: repr(m)[:40])
def test_check_reply_refuses_forged_replies(message):
    with pytest.raises(Violation) as error:
        protocol.check_reply(message, 4, NONCE)
    assert error.value.forged is True


@pytest.mark.parametrize("refused", ["torch.func", None, [1], [["a"]], {"a": 1}, [None]])
def test_check_reply_wants_refused_as_a_list_of_strings(refused):
    with pytest.raises(Violation, match="malformed reply") as error:
        protocol.check_reply(reply(refused=refused), 4, NONCE)
    assert error.value.forged is False


def test_check_reply_caps_refused_names():
    outcome, refused = protocol.check_reply(reply(refused=["x" * 1000] * 500), 4, NONCE)
    assert len(refused) == protocol.MAX_NAMES
    assert all(r == "x" * protocol.MAX_LABEL for r in refused)


def test_check_reply_reads_a_forged_outcome_as_an_error():
    outcome, _ = protocol.check_reply(reply(outcome={"value": {"$": "pickle"}}), 4, NONCE)
    assert set(outcome) == {"error"}


# --- loading / loaded -------------------------------------------------------------------------

def test_check_loading():
    assert protocol.check_loading({"loading": "cell 3"}) == "cell 3"
    assert protocol.check_loading({"loading": "x" * 1000}) == "x" * protocol.MAX_LABEL
    for message in ({"loading": 3}, {"loading": None}, {"loading": ["a"]},
                    {"loading": "a", "extra": 1}, {}, {"loaded": []}):
        assert protocol.check_loading(message) is None, message


def test_check_loaded():
    assert protocol.check_loaded({"loaded": []}) == []
    errors = [{"cell": "c" * 500, "error": "e" * 5000}, {"cell": "b", "error": "boom"}]
    assert protocol.check_loaded({"loaded": errors}) == [
        {"cell": "c" * protocol.MAX_LABEL, "error": "e" * protocol.MAX_ERROR},
        {"cell": "b", "error": "boom"}]
    assert len(protocol.check_loaded({"loaded": [{"cell": "a", "error": "b"}] * 5000})) == 1000


@pytest.mark.parametrize("message", [
    {"loaded": None},
    {"loaded": {"cell": "a", "error": "b"}},
    {"loaded": "a"},
    {"loaded": [], "extra": 1},
    {"loaded": [{"cell": "a"}]},
    {"loaded": [{"cell": "a", "error": "b", "more": "c"}]},
    {"loaded": [{"cell": 1, "error": "b"}]},
    {"loaded": [{"cell": "a", "error": None}]},
    {"loaded": [["a", "b"]]},
    {"loaded": [{"cell": "a", "error": "b"}, "x"]},
    {"loading": "a"},
    {},
], ids=repr)
def test_check_loaded_refuses_malformed_shapes(message):
    assert protocol.check_loaded(message) is None


# --- outcomes ---------------------------------------------------------------------------------

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
    value = protocol.read_outcome(raw)["value"]
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


def test_read_outcome_passes_errors_and_missing_names():
    assert protocol.read_outcome({"error": "boom"}) == {"error": "boom"}
    assert protocol.read_outcome({"error": "e" * 10_000}) == {"error": "e" * protocol.MAX_ERROR}
    assert protocol.read_outcome({"missing": ["Mul", "Add"]}) == {"missing": ["Mul", "Add"]}
    assert protocol.read_outcome({"missing": ["m" * 500] * 500}) == \
        {"missing": ["m" * 100] * protocol.MAX_NAMES}


def _deep(levels):
    value = 1.0
    for _ in range(levels):
        value = [value]
    return value


FORGED = {
    "shape and data disagree": tensor(shape=(2, 2), data=(1, 2, 3)),
    "too much data": tensor(shape=(1,), data=(1, 2)),
    "negative dimension": tensor(shape=(-2,), data=()),
    "float dimension": tensor(shape=(2.0,), data=(1, 2)),
    "string dimension": tensor(shape=("2",), data=(1, 2)),
    "huge dimension": tensor(shape=(10**30,), data=()),
    "huge shape product": tensor(shape=(200_000, 200_000, 200_000), data=()),
    "shape not a list": {"$": "tensor", "dtype": "float32", "shape": 2, "data": [1, 2]},
    "data not a list": {"$": "tensor", "dtype": "float32", "shape": [1], "data": 1.0},
    "no data": {"$": "tensor", "dtype": "float32", "shape": [1]},
    "dtype complex": tensor(dtype="complex64"),
    "dtype with prefix": tensor(dtype="torch.float32"),
    "dtype attribute name": tensor(dtype="Tensor"),
    "dtype not a string": tensor(dtype=["float32"]),
    "text data": tensor(data=("1", "2")),
    "nested data": tensor(data=([1], [2])),
    "null data": tensor(data=(None, None)),
    "int64 overflow": tensor(dtype="int64", shape=(1,), data=(10**30,)),
    "int8 overflow": tensor(dtype="int8", shape=(1,), data=(10**30,)),
    "too deep": _deep(codec.MAX_DEPTH + 5),
    "far too deep": _deep(500),
    "deep dicts": {"$": "dict", "items": {"a": {"$": "dict", "items": {"a": _deep(12)}}}},
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
    outcome = protocol.read_outcome({"value": raw})
    assert set(outcome) == {"error"}
    assert outcome["error"].startswith("The values your code produced could not be read (")


@pytest.mark.parametrize("raw", [
    None, 3, "value", [], {}, {"value": 1, "error": "x"}, {"error": 3}, {"missing": "Mul"},
    {"missing": [1]}, {"missing": None}, {"VALUE": 1},
], ids=repr)
def test_read_outcome_turns_unexpected_outcomes_into_errors(raw):
    assert protocol.read_outcome(raw) == {
        "error": "The values your code produced could not be read (unexpected outcome)."}


def test_read_outcome_accepts_the_deepest_allowed_nesting():
    assert protocol.read_outcome({"value": _deep(codec.MAX_DEPTH + 2)}) == \
        {"value": _deep(codec.MAX_DEPTH + 2)}


def test_read_outcome_is_fast_for_a_forged_shape_with_many_dimensions():
    raw = {"value": tensor(shape=[2] * 300_000, data=())}
    assert len(json.dumps(raw, separators=(",", ":"))) < protocol.MAX_FRAME
    started = time.perf_counter()
    outcome = protocol.read_outcome(raw)
    elapsed = time.perf_counter() - started
    assert set(outcome) == {"error"}
    assert elapsed < 0.25


# --- codec.encode -----------------------------------------------------------------------------

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


def test_encode_tensors():
    t = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    assert codec.encode(t) == {"$": "tensor", "dtype": "float64", "shape": [2, 3],
                               "data": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]}
    back = codec.decode(codec.encode(t))
    assert back.dtype == torch.float64 and torch.equal(back, t)
    scalar = codec.encode(torch.tensor(True))
    assert scalar == {"$": "tensor", "dtype": "bool", "shape": [], "data": [True]}


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
    assert protocol.read_outcome({"value": codec.encode(_deep(20))}).keys() == {"value"}

    class ComputationNode:
        pass

    class Mul(ComputationNode):
        pass

    assert codec.encode(Mul()) == {"$": "node", "type": "Mul"}
    assert codec.encode(object()) == {"$": "object", "type": "object"}
    assert codec.encode((1, 2)) == [1, 2]
