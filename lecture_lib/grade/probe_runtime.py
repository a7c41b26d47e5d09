"""The part of the grader that runs *inside the learner's kernel*: call the learner's code, return plain data.

A question's *probe* (see :mod:`lecture_lib.grade.core`) is a small function ``probe(ns, inputs)`` that looks
up the learner's functions in the namespace ``ns``, calls them on the grader's ``inputs`` and returns what they
gave back. This module supplies the helpers a probe may use and the envelope around it:

* :func:`get_function` - the learner's callable ``name`` (raises :class:`MissingName` when it is not defined);
* :func:`to_torch` - a fresh ``torch.Tensor`` copy of an input array;
* :func:`call` - call a learner function and turn an ordinary exception into a :class:`Raised` value, so that
  one failing case becomes a precise message instead of ending the whole probe;
* :func:`run` - run a probe and wrap its result (or why there is none) in a JSON-able envelope;
* :func:`encode` / :func:`decode` - the wire format: JSON with arrays as base64 ``.npy`` bytes
  (``allow_pickle=False``, so decoding never executes anything).

The command-line grader does not import this module in the learner's kernel (a notebook could have replaced
it there): it sends this file's *source text*, plus the probe's source, and executes them in a fresh
dictionary. The result travels back over stdout between two markers that carry a random nonce, and is only
plain data; the scoring happens in the grader's own process. ``check()`` in a notebook uses the same functions
in-process. Therefore this module imports only the standard library at the top (NumPy and torch lazily).
"""

from __future__ import annotations

import base64
import io
import json
import sys
import traceback
from typing import Any

#: How deep nested lists/tuples/dicts in a probe result may go.
_MAX_DEPTH = 12


class MissingName(Exception):
    """The learner's namespace has no callable with the required name.

    ``why`` is ``"undefined"`` or ``"not_callable"`` (``got``: the type found), so the grader can say it in the
    notebook's language; the English message is the exception's text.
    """

    def __init__(self, message: str, name: str = "", why: str = "", got: str = "") -> None:
        super().__init__(message)
        self.name, self.why, self.got = name, why, got


class Raised:
    """A learner function raised an ordinary exception for one case; ``message`` is ``"Type: text"``."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"Raised({self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Raised) and other.message == self.message


class Arr:
    """A decoded array: ``value`` (NumPy), ``kind`` ("torch" or "numpy") and the original ``dtype`` name."""

    __slots__ = ("value", "kind", "dtype")

    def __init__(self, value: Any, kind: str, dtype: str) -> None:
        self.value = value
        self.kind = kind
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"Arr(kind={self.kind!r}, dtype={self.dtype!r}, shape={tuple(self.value.shape)})"


class Opaque:
    """A value of a type the wire format does not carry (its type name and a short repr)."""

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


def get_function(ns: Any, name: str) -> Any:
    """The learner's callable ``name`` from ``ns``; raises :class:`MissingName` naming what is wrong."""
    if name not in ns:
        raise MissingName(f"{name} is not defined (did the cell that defines it run without an error?)", name,
                          "undefined")
    obj = ns[name]
    if not callable(obj):
        raise MissingName(f"{name} must be a function; got a {type(obj).__name__}", name, "not_callable",
                          type(obj).__name__)
    return obj


def to_torch(array: Any, dtype: Any = None) -> Any:
    """A new ``torch.Tensor`` holding a copy of ``array`` (optionally converted to ``dtype``)."""
    import numpy as np
    import torch

    t = torch.from_numpy(np.array(array, copy=True))
    return t if dtype is None else t.to(dtype)


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, or a :class:`Raised` when it raises an ordinary exception.

    ``NotImplementedError`` (an untouched stub) and non-``Exception`` exits (``SystemExit``,
    ``KeyboardInterrupt``) are not caught: they decide the status of the whole question.
    """
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001 - any learner error becomes data
        return Raised(_describe(err))


def _describe(err: BaseException) -> str:
    text = str(err)
    if len(text) > 300:
        text = text[:300] + "..."
    where = _learner_location(err)
    return f"{type(err).__name__}: {text}" + (f" ({where})" if where else "")


def _learner_location(err: BaseException) -> str:
    """``in NAME, line N`` for the innermost frame outside this runtime and the probe (best effort)."""
    try:
        frames = traceback.extract_tb(err.__traceback__)
    except Exception:  # noqa: BLE001
        return ""
    own = {"call", "run", "_kernel_main"}
    for frame in reversed(frames):
        if frame.name not in own and not frame.name.startswith("probe") and "site-packages" not in frame.filename:
            return f"in {frame.name}, line {frame.lineno}"
    return ""


# ----------------------------------------------------------------------------------------------- wire format
def _npy_b64(array: Any) -> str:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def encode(obj: Any, _depth: int = 0) -> Any:
    """A JSON-able form of ``obj``: tensors/arrays as ``.npy`` bytes, tuples kept apart from lists."""
    if _depth > _MAX_DEPTH:
        return {"__opaque__": "nested too deep", "text": ""}
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else {"__float__": repr(obj)}
    if isinstance(obj, Raised):
        return {"__raised__": obj.message}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        t = obj.detach().cpu()
        if t.is_complex() or t.dtype not in _numpy_friendly(torch):
            t = t.to(torch.float32) if not t.is_complex() else t
        try:
            arr = t.resolve_conj().resolve_neg().numpy()
        except Exception:  # noqa: BLE001
            arr = t.to(torch.float64).numpy()
        return {"__nd__": _npy_b64(arr), "kind": "torch", "dtype": str(obj.dtype)}
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, (np.ndarray, np.generic)):
        arr = np.asarray(obj)
        if arr.dtype.kind in "OVSUM":
            return {"__opaque__": f"numpy array of dtype {arr.dtype}", "text": ""}
        return {"__nd__": _npy_b64(arr), "kind": "numpy", "dtype": str(arr.dtype)}
    if isinstance(obj, (list, tuple)):
        items = [encode(x, _depth + 1) for x in obj]
        return {"__tuple__": items} if isinstance(obj, tuple) else {"__list__": items}
    if isinstance(obj, dict):
        return {"__dict__": [[str(k), encode(v, _depth + 1)] for k, v in obj.items()]}
    try:
        text = repr(obj)[:200]
    except Exception:  # noqa: BLE001
        text = ""
    return {"__opaque__": type(obj).__name__, "text": text}


def _numpy_friendly(torch: Any) -> tuple[Any, ...]:
    return (
        torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
        torch.float16, torch.float32, torch.float64,
    )


def decode(obj: Any, *, plain_arrays: bool = False, _depth: int = 0) -> Any:
    """Inverse of :func:`encode`. Arrays become :class:`Arr` (or bare NumPy arrays with ``plain_arrays``).

    Raises ``ValueError`` for anything that is not the wire format (the data may come from an untrusted kernel).
    """
    if _depth > _MAX_DEPTH + 1:
        raise ValueError("probe result nested too deep")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        raise ValueError("bare JSON list in probe result")
    if not isinstance(obj, dict) or len(obj) == 0:
        raise ValueError(f"unexpected {type(obj).__name__} in probe result")
    if "__nd__" in obj:
        import numpy as np

        raw = base64.b64decode(str(obj["__nd__"]).encode("ascii"), validate=True)
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
        if plain_arrays:
            return arr
        return Arr(arr, str(obj.get("kind", "numpy")), str(obj.get("dtype", arr.dtype)))
    if "__tuple__" in obj or "__list__" in obj:
        items = obj.get("__tuple__", obj.get("__list__"))
        if not isinstance(items, list):
            raise ValueError("malformed sequence in probe result")
        out = [decode(x, plain_arrays=plain_arrays, _depth=_depth + 1) for x in items]
        return tuple(out) if "__tuple__" in obj else out
    if "__dict__" in obj:
        pairs = obj["__dict__"]
        if not isinstance(pairs, list):
            raise ValueError("malformed dict in probe result")
        return {str(k): decode(v, plain_arrays=plain_arrays, _depth=_depth + 1) for k, v in pairs}
    if "__float__" in obj:
        return float(str(obj["__float__"]))
    if "__raised__" in obj:
        return Raised(str(obj["__raised__"]))
    if "__opaque__" in obj:
        return Opaque(str(obj["__opaque__"]), str(obj.get("text", "")))
    raise ValueError("unknown value in probe result")


# ------------------------------------------------------------------------------------------------ envelope
def run(probe: Any, ns: Any, inputs: Any) -> dict[str, Any]:
    """Run ``probe(ns, inputs)`` and return a JSON-able envelope ``{"status": ..., ...}``.

    status: ``ok`` (with ``value``), ``missing``, ``not_attempted``, ``error`` or ``interrupted``
    (with ``message``). Nothing escapes, not even ``SystemExit``.
    """
    try:
        value = encode(probe(ns, inputs))
        return {"status": "ok", "value": value}
    except MissingName as err:
        return {"status": "missing", "message": str(err), "why": err.why, "name": err.name, "got": err.got}
    except NotImplementedError as err:
        return {"status": "not_attempted", "message": f"NotImplementedError: {err}"}
    except KeyboardInterrupt:
        return {"status": "interrupted", "message": "interrupted (does the code loop forever?)", "why": "interrupted"}
    except SystemExit as err:
        return {"status": "error", "message": f"SystemExit({err.code!r}): the code called sys.exit() or exit()",
                "why": "exit", "got": repr(err.code)}
    except BaseException as err:  # noqa: BLE001 - the envelope reports everything
        return {"status": "error", "message": _describe(err)}


def _kernel_main(ns: Any, nonce: str, probe_name: str, inputs_b64: str) -> None:
    """Entry point in the learner's kernel: decode inputs, run the probe, print the marked envelope."""
    try:
        inputs = decode(json.loads(base64.b64decode(inputs_b64)), plain_arrays=True)
        envelope = run(globals()[probe_name], ns, inputs)
        text = base64.b64encode(json.dumps(envelope).encode("utf-8")).decode("ascii")
    except BaseException as err:  # noqa: BLE001
        text = base64.b64encode(
            json.dumps({"status": "error", "message": f"probe failed: {type(err).__name__}: {err}"}).encode()
        ).decode("ascii")
    line = f"\n<<lecture26:{nonce}>>{text}<<end:{nonce}>>\n"
    for stream in (sys.stdout, sys.__stdout__):
        try:
            stream.write(line)
            stream.flush()
            return
        except Exception:  # noqa: BLE001 - try the next stream
            continue
