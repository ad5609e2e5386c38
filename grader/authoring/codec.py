"""Plain data: what a probe returns, as JSON that any process can read without trusting it.

Student code runs in one process and the verdict is decided in another, so every value crosses
as JSON. `encode` runs beside student code (it only has to describe values); `decode` runs in the
judging process and validates everything, because the data may have been forged.
"""

import math

MAX_ITEMS = 200_000  # numbers per tensor or list: far above what any check needs
MAX_DEPTH = 8
MAX_DIMENSIONS = 64
MAX_TEXT = 2_000
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "bool")


class Tagged(dict):
    """A decoded non-primitive value: `kind` is "node" or "object", `type` the class name."""

    @property
    def kind(self):
        return self["$"]


def encode(value, depth=0):
    """Describe `value` with JSON types; tensors become {"$": "tensor", ...}."""
    if value is None or type(value) in (bool, float):
        return value
    if type(value) is int:
        return value if -2**63 <= value < 2**63 else _float(value)
    if isinstance(value, str):
        return str.__str__(value)[:MAX_TEXT]
    if depth > MAX_DEPTH:
        return {"$": "object", "type": type(value).__name__}
    tensor = _as_tensor(value)
    if tensor is not None:
        if tensor.numel() > MAX_ITEMS:
            return {"$": "object", "type": "Tensor (too large)"}
        return {"$": "tensor", "dtype": str(tensor.dtype).replace("torch.", ""),
                "shape": list(tensor.shape), "data": tensor.detach().cpu().reshape(-1).tolist()}
    if isinstance(value, (int, float)):  # numpy scalars and other number types
        return float(value)
    if type(value) in (list, tuple):
        return [encode(v, depth + 1) for v in value[:MAX_ITEMS]]
    if type(value) is dict:
        return {"$": "dict", "items": {str(k)[:MAX_TEXT]: encode(v, depth + 1)
                                       for k, v in list(value.items())[:MAX_ITEMS]}}
    names = [c.__name__ for c in type(value).__mro__]
    if "ComputationNode" in names:
        return {"$": "node", "type": type(value).__name__}
    return {"$": "object", "type": type(value).__name__}


def _float(value):
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _as_tensor(value):
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if type(value).__module__ == "numpy" and getattr(value, "shape", ()) != ():
        return torch.as_tensor(value)
    return None


class InvalidData(ValueError):
    """The data does not describe values the way `encode` writes them."""


def decode(raw, depth=0):
    if depth > MAX_DEPTH + 2:
        raise InvalidData("the output is nested too deeply")
    if raw is None or isinstance(raw, (bool, int, float, str)):
        if isinstance(raw, str) and len(raw) > MAX_TEXT:
            raise InvalidData("a text in the output is too long")
        return raw
    if isinstance(raw, list):
        if len(raw) > MAX_ITEMS:
            raise InvalidData("a list in the output is too long")
        return [decode(v, depth + 1) for v in raw]
    if not isinstance(raw, dict) or not isinstance(raw.get("$"), str):
        raise InvalidData("unexpected value in the output")
    kind = raw["$"]
    if kind == "tensor":
        return _decode_tensor(raw)
    if kind == "dict" and isinstance(raw.get("items"), dict):
        return {str(k): decode(v, depth + 1) for k, v in raw["items"].items()}
    if kind in ("node", "object") and isinstance(raw.get("type"), str):
        return Tagged({"$": kind, "type": raw["type"][:100]})
    raise InvalidData(f"unexpected value kind {kind!r} in the output")


def read_error(raw):
    """An error outcome (grader.authoring.errors.error_outcome) as it arrived, validated and
    bounded; anything malformed becomes an error without a location."""
    if not isinstance(raw, dict):
        return {"type": "", "text": "Your code raised an error that could not be read.",
                "frames": []}
    kind, text, frames = raw.get("type"), raw.get("text"), raw.get("frames")
    frames = [[f[0][:300], f[1], f[2][:100]] for f in (frames if isinstance(frames, list) else [])
              [-50:] if isinstance(f, list) and len(f) == 3 and isinstance(f[0], str)
              and type(f[1]) is int and isinstance(f[2], str)]
    return {"type": kind[:100] if isinstance(kind, str) else "Exception",
            "text": text[:MAX_TEXT] if isinstance(text, str) else "", "frames": frames}


def _decode_tensor(raw):
    import torch

    dtype, shape, data = raw.get("dtype"), raw.get("shape"), raw.get("data")
    if dtype not in DTYPES or not isinstance(shape, list) or not isinstance(data, list):
        raise InvalidData("malformed tensor in the output")
    if len(shape) > MAX_DIMENSIONS or \
            not all(isinstance(s, int) and 0 <= s <= MAX_ITEMS for s in shape):
        raise InvalidData("malformed tensor shape in the output")
    if math.prod(shape) != len(data) or len(data) > MAX_ITEMS:
        raise InvalidData("tensor data does not match its shape")
    if not all(isinstance(x, (int, float)) for x in data):
        raise InvalidData("tensor data is not numeric")
    return torch.tensor(data, dtype=getattr(torch, dtype)).reshape(shape)
