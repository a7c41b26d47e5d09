"""Mixed-precision training: number formats, loss scaling, and where gradients vanish (Part E).

Taught in ``notebooks/partE_serving_training_optimization.ipynb``: Zone 1 (loss-scale slider), Zone 3
(format ranges derived from the bit layout), Zone 4 (the scaler), Zone 5 (fp16/bf16 training steps).

**Number formats.** A binary floating-point format with ``e`` exponent bits, ``m`` mantissa bits and bias
``2**(e-1) - 1`` stores normal numbers ``(1 + f/2**m) * 2**(E - bias)`` (exponent field ``E`` from 1 to the
top) and subnormal numbers ``(f/2**m) * 2**(1 - bias)`` (``E = 0``). From that layout alone:

* largest finite value: ``(2 - 2**-m) * 2**emax`` with ``emax = 2**e - 2 - bias`` (IEEE: the all-ones
  exponent is reserved for inf/NaN). OCP FP8 E4M3 ("E4M3FN") has no inf: the all-ones exponent holds
  numbers too and only mantissa all-ones is NaN, so max = ``(2 - 2**(1-m)) * 2**(2**e - 1 - bias)`` = 448;
* smallest normal ``2**(1 - bias)``; smallest subnormal ``2**(1 - bias - m)``;
* machine epsilon (gap after 1.0) ``2**-m``; decimal digits ``(m + 1) * log10(2)``.

FP16 therefore spans 6.10e-5 (min normal) to 65504, with subnormals down to 5.96e-8. The lecture's
"[2^-14, 2^15] = [6e-5, 32768]" gets the top wrong, and a 1e-6 gradient does not underflow in FP16: it
becomes the subnormal 1.0133e-6 (1.3 % error). Only values below 2**-25 = 2.98e-8 round to zero.

**Loss scaling.** Multiply the loss by ``s`` so the backward pass produces ``s * g`` (shifting small
gradients out of the underflow zone), then unscale ``g = (s * g) / s`` in FP32 before the optimizer step.
The dynamic rule (as in ``torch.amp.GradScaler``): if any scaled gradient is inf/NaN, skip the step and
multiply ``s`` by ``backoff_factor``; after ``growth_interval`` clean steps in a row, multiply ``s`` by
``growth_factor``.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from lecture_lib._checks import integer, positive
from lecture_lib.training import make_optimizer, train_step

__all__ = [
    "PRECISIONS",
    "autocast",
    "TrainStepStats",
    "count_vanished",
    "mixed_precision_step",
    "precision_grads",
    "train_run",
    "FLOAT_FORMATS",
    "CATEGORIES",
    "FloatFormat",
    "GradientCastReport",
    "LossScaler",
    "StepRecord",
    "classify",
    "encode_bits",
    "format_table",
    "get_format",
    "round_to_format",
    "rounding_error",
    "underflow_fraction",
    "update_scale",
]


# ---------------------------------------------------------------------------------------------------
# Number formats
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format defined by its bit layout (1 sign bit + exponent + mantissa).

    ``finite_only=True`` is the OCP "FN" convention of FP8 E4M3: no infinities, the all-ones exponent
    encodes numbers, and only the all-ones exponent *with* all-ones mantissa is NaN.
    Every range property is computed from the layout, never looked up.
    """

    name: str
    exponent_bits: int
    mantissa_bits: int
    finite_only: bool = False

    @property
    def bits(self) -> int:
        return 1 + self.exponent_bits + self.mantissa_bits

    @property
    def bias(self) -> int:
        return 2 ** (self.exponent_bits - 1) - 1

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal number: ``1 - bias``."""
        return 1 - self.bias

    @property
    def emax(self) -> int:
        """Exponent of the largest finite number."""
        top_field = 2**self.exponent_bits - 1 if self.finite_only else 2**self.exponent_bits - 2
        return top_field - self.bias

    @property
    def max(self) -> float:
        m = self.mantissa_bits
        # FN formats lose one mantissa code at the top exponent (it is NaN).
        top_fraction = 2.0 - 2.0 ** (1 - m) if self.finite_only else 2.0 - 2.0**-m
        return math.ldexp(top_fraction, self.emax)

    @property
    def min_normal(self) -> float:
        return math.ldexp(1.0, self.emin)

    @property
    def min_subnormal(self) -> float:
        return math.ldexp(1.0, self.emin - self.mantissa_bits)

    @property
    def eps(self) -> float:
        """Machine epsilon: the gap between 1.0 and the next larger number, ``2**-m``."""
        return math.ldexp(1.0, -self.mantissa_bits)

    @property
    def decimal_digits(self) -> float:
        """Significant decimal digits carried by ``m + 1`` significand bits: ``(m + 1) * log10(2)``."""
        return (self.mantissa_bits + 1) * math.log10(2.0)

    @property
    def has_inf(self) -> bool:
        return not self.finite_only


#: The formats of the course, by their short names.
FLOAT_FORMATS: dict[str, FloatFormat] = {
    "fp32": FloatFormat("fp32", 8, 23),
    "fp16": FloatFormat("fp16", 5, 10),
    "bf16": FloatFormat("bf16", 8, 7),
    "e4m3": FloatFormat("e4m3", 4, 3, finite_only=True),
    "e5m2": FloatFormat("e5m2", 5, 2),
}

_ALIASES = {
    "float32": "fp32",
    "float16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
    "fp8_e4m3": "e4m3",
    "e4m3fn": "e4m3",
    "fp8_e5m2": "e5m2",
}

#: What :func:`classify` can return.
CATEGORIES = ("zero", "normal", "subnormal", "underflow_to_zero", "overflow", "inf", "nan")


def get_format(fmt: str | FloatFormat) -> FloatFormat:
    """Look a format up by name (``fp32``, ``fp16``, ``bf16``, ``e4m3``, ``e5m2`` or an alias)."""
    if isinstance(fmt, FloatFormat):
        return fmt
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a format name (one of {sorted(FLOAT_FORMATS)}); got {type(fmt).__name__}")
    key = _ALIASES.get(fmt.lower(), fmt.lower())
    if key not in FLOAT_FORMATS:
        raise ValueError(f"fmt must be one of {sorted(FLOAT_FORMATS)} (or an alias such as 'float16'); got {fmt!r}")
    return FLOAT_FORMATS[key]


def format_table(names: Sequence[str] = ("fp32", "fp16", "bf16", "e4m3", "e5m2")) -> list[dict]:
    """One record per format: bits, bias, max, min normal, min subnormal, epsilon, decimal digits."""
    rows = []
    for name in names:
        f = get_format(name)
        rows.append(
            {
                "format": f.name,
                "bits": f.bits,
                "exponent_bits": f.exponent_bits,
                "mantissa_bits": f.mantissa_bits,
                "bias": f.bias,
                "max": f.max,
                "min_normal": f.min_normal,
                "min_subnormal": f.min_subnormal,
                "eps": f.eps,
                "decimal_digits": f.decimal_digits,
                "has_inf": f.has_inf,
            }
        )
    return rows


def _as_float64(x) -> np.ndarray:
    if isinstance(x, Tensor):
        if x.is_complex():
            raise TypeError("x must be a real tensor; got a complex tensor")
        return x.detach().to("cpu", torch.float64).numpy()
    if isinstance(x, bool):
        raise TypeError("x must be a real number, array or tensor; got a bool")
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"x must be a real number, array or tensor; got dtype {arr.dtype}")
    return arr.astype(np.float64)


def round_to_format(x, fmt: str | FloatFormat) -> np.ndarray:
    """Round real values to the nearest value of ``fmt`` (round half to even), as float64.

    Works from the bit layout: the spacing of representable numbers around ``|x|`` is
    ``2**(max(floor(log2|x|), emin) - m)``, so ``|x|`` rounds to ``rint(|x| / q) * q`` (exact in float64
    for every format here). A result beyond ``fmt.max`` is returned as ``±inf``: it is *not representable*
    (an IEEE cast gives inf; for E4M3, torch saturates to ±448 and ml_dtypes gives NaN). NaN stays NaN,
    ±inf stays ±inf, zero keeps its sign.
    """
    f = get_format(fmt)
    a = _as_float64(x)
    mag = np.abs(a)
    finite_nonzero = np.isfinite(mag) & (mag > 0)
    safe = np.where(finite_nonzero, mag, 1.0)
    _, e2 = np.frexp(safe)  # safe = frac * 2**e2 with frac in [0.5, 1) -> floor(log2) = e2 - 1
    exponent = np.maximum(e2 - 1, f.emin)
    quantum = np.ldexp(1.0, (exponent - f.mantissa_bits).astype(np.int64))
    rounded = np.rint(safe / quantum) * quantum
    rounded = np.where(rounded > f.max, np.inf, rounded)
    out = np.where(finite_nonzero, np.copysign(rounded, a), a)
    return out


def _check_scalar(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, Tensor) and value.numel() == 1 and not value.is_complex():
            return float(value.item())
        raise TypeError(f"value must be a real number; got {type(value).__name__}")
    return float(value)


def classify(value: float, fmt: str | FloatFormat = "fp16") -> str:
    """Where a real number lands when stored in ``fmt`` (after round-to-nearest-even).

    Returns ``"zero"`` (exactly 0), ``"normal"``, ``"subnormal"`` (representable with reduced precision),
    ``"underflow_to_zero"`` (nonzero but rounds to 0), ``"overflow"`` (finite but beyond the largest
    finite value after rounding), or ``"inf"`` / ``"nan"`` for non-finite inputs.
    Example: ``classify(1e-6, "fp16") == "subnormal"``; ``classify(1e-8, "fp16") == "underflow_to_zero"``.
    """
    v = _check_scalar(value)
    f = get_format(fmt)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf"
    if v == 0.0:
        return "zero"
    r = float(round_to_format(v, f))
    if math.isinf(r):
        return "overflow"
    if r == 0.0:
        return "underflow_to_zero"
    return "subnormal" if abs(r) < f.min_normal else "normal"


def rounding_error(value: float, fmt: str | FloatFormat = "fp16") -> float:
    """Relative error ``|round(v) - v| / |v|`` of storing ``value`` in ``fmt``.

    0 for exact zero, 1.0 for an underflow to zero, ``inf`` for an overflow. For normal numbers it is at
    most ``eps / 2``; in the subnormal range it grows as the value shrinks. NaN/inf input raises ValueError.
    """
    v = _check_scalar(value)
    if not math.isfinite(v):
        raise ValueError(f"value must be finite to have a rounding error; got {v}")
    if v == 0.0:
        return 0.0
    r = float(round_to_format(v, fmt))
    if math.isinf(r):
        return math.inf
    return abs(r - v) / abs(v)


def encode_bits(value: float, fmt: str | FloatFormat = "fp16") -> str:
    """The bit pattern of ``value`` stored in ``fmt``, as ``"sign exponent mantissa"`` (e.g. fp16 1.0 is
    ``"0 01111 0000000000"``). Overflow gives the inf pattern in IEEE formats and raises ValueError in
    E4M3 (which has no inf: casts there either saturate or give NaN). NaN gives the canonical quiet NaN.
    """
    v = _check_scalar(value)
    f = get_format(fmt)
    e_bits, m_bits = f.exponent_bits, f.mantissa_bits
    top = 2**e_bits - 1
    if math.isnan(v):
        sign, exp_field, man_field = 0, top, (2**m_bits - 1 if f.finite_only else 2 ** (m_bits - 1))
    else:
        r = float(round_to_format(v, f))
        sign = 1 if math.copysign(1.0, r) < 0 else 0
        mag = abs(r)
        if math.isinf(mag):
            if f.finite_only:
                raise ValueError(
                    f"value {v!r} overflows {f.name} (max {f.max}), which has no inf bit pattern"
                )
            exp_field, man_field = top, 0
        elif mag == 0.0:
            exp_field, man_field = 0, 0
        elif mag < f.min_normal:
            exp_field, man_field = 0, int(round(mag / f.min_subnormal))
        else:
            frac, e2 = math.frexp(mag)  # mag = frac * 2**e2, frac in [0.5, 1)
            exp_field = e2 - 1 + f.bias
            man_field = int(round((frac * 2.0 - 1.0) * 2**m_bits))
    return f"{sign} {exp_field:0{e_bits}b} {man_field:0{m_bits}b}"


@dataclass(frozen=True)
class GradientCastReport:
    """Counts of what happens to gradient values ``g`` when ``scale * g`` is stored in a format.

    ``zero``: already exactly 0; ``vanished``: nonzero but rounded to 0; ``subnormal``: kept with reduced
    precision; ``normal``: kept at full precision; ``overflow``: became inf/NaN (or was non-finite).
    """

    fmt: str
    scale: float
    total: int
    zero: int
    vanished: int
    subnormal: int
    normal: int
    overflow: int

    @property
    def nonzero(self) -> int:
        return self.total - self.zero

    @property
    def vanished_fraction(self) -> float:
        """Vanished values as a fraction of the nonzero ones (zeros cannot vanish)."""
        return self.vanished / self.nonzero if self.nonzero else 0.0

    @property
    def overflow_fraction(self) -> float:
        """Overflowed values as a fraction of the nonzero ones."""
        return self.overflow / self.nonzero if self.nonzero else 0.0

    @property
    def subnormal_fraction(self) -> float:
        return self.subnormal / self.nonzero if self.nonzero else 0.0


def _flatten_grads(grads) -> np.ndarray:
    if isinstance(grads, (Tensor, np.ndarray)):
        return _as_float64(grads).ravel()
    if isinstance(grads, Iterable) and not isinstance(grads, (str, bytes)):
        parts = [_as_float64(g).ravel() for g in grads if g is not None]
        if not parts:
            raise ValueError("grads must contain at least one tensor; got an empty collection")
        return np.concatenate(parts)
    raise TypeError(f"grads must be a tensor, an array or an iterable of tensors; got {type(grads).__name__}")


def _check_scale(scale) -> float:
    return positive("scale", scale)


def underflow_fraction(grads, scale: float = 1.0, fmt: str | FloatFormat = "fp16") -> GradientCastReport:
    """What storing ``scale * g`` in ``fmt`` does to each gradient value ``g`` (exact, from the bit layout).

    ``grads``: a tensor, an array, or an iterable of tensors (e.g. ``[p.grad for p in model.parameters()]``).
    The product ``scale * g`` is formed in float64, so only the format's own rounding is modelled.
    """
    f = get_format(fmt)
    s = _check_scale(scale)
    g = _flatten_grads(grads)
    if g.size == 0:
        raise ValueError("grads must contain at least one value; got an empty tensor")
    scaled = g * s
    r = round_to_format(scaled, f)
    zero = int(np.count_nonzero(g == 0))
    nonfinite = ~np.isfinite(r)
    nz = g != 0
    vanished = int(np.count_nonzero(nz & (r == 0)))
    mag = np.abs(r)
    subnormal = int(np.count_nonzero(~nonfinite & (mag > 0) & (mag < f.min_normal)))
    normal = int(np.count_nonzero(~nonfinite & (mag >= f.min_normal)))
    overflow = int(np.count_nonzero(nonfinite))
    return GradientCastReport(f.name, s, int(g.size), zero, vanished, subnormal, normal, overflow)


# ---------------------------------------------------------------------------------------------------
# Dynamic loss scaling
# ---------------------------------------------------------------------------------------------------


def _f32(x: float) -> float:
    """Round a Python float to float32 (the scale lives in a float32 tensor in GradScaler)."""
    with np.errstate(over="ignore"):  # an overflow to inf is detected by the caller
        return float(np.float32(x))


def _check_factors(growth_factor, backoff_factor, growth_interval) -> None:
    if isinstance(growth_factor, bool) or not isinstance(growth_factor, numbers.Real):
        raise TypeError(f"growth_factor must be a number > 1; got {type(growth_factor).__name__}")
    if not (math.isfinite(growth_factor) and growth_factor > 1.0):
        raise ValueError(f"growth_factor must be a finite number > 1; got {growth_factor!r}")
    if isinstance(backoff_factor, bool) or not isinstance(backoff_factor, numbers.Real):
        raise TypeError(f"backoff_factor must be a number in (0, 1); got {type(backoff_factor).__name__}")
    if not 0.0 < backoff_factor < 1.0:
        raise ValueError(f"backoff_factor must be in (0, 1); got {backoff_factor!r}")
    if isinstance(growth_interval, bool) or not isinstance(growth_interval, numbers.Integral):
        raise TypeError(f"growth_interval must be an int >= 1; got {type(growth_interval).__name__}")
    if growth_interval < 1:
        raise ValueError(f"growth_interval must be an int >= 1; got {growth_interval!r}")


def update_scale(
    scale: float,
    growth_tracker: int,
    found_inf: bool,
    *,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
) -> tuple[float, int]:
    """One dynamic loss-scale update; returns ``(new_scale, new_growth_tracker)``.

    * ``found_inf``: ``scale * backoff_factor`` and the tracker restarts at 0 (the step is skipped).
    * otherwise the tracker counts one more clean step; when it reaches ``growth_interval`` the scale
      becomes ``scale * growth_factor`` (kept unchanged if that would overflow float32) and the tracker
      restarts at 0.

    Arithmetic is float32, like the scale tensor of ``torch.amp.GradScaler``.
    """
    _check_factors(growth_factor, backoff_factor, growth_interval)
    s = _check_scale(scale)
    if isinstance(growth_tracker, bool) or not isinstance(growth_tracker, numbers.Integral):
        raise TypeError(f"growth_tracker must be an int >= 0; got {type(growth_tracker).__name__}")
    if not 0 <= growth_tracker < growth_interval:
        raise ValueError(f"growth_tracker must be in 0..growth_interval-1 = 0..{growth_interval - 1}; got {growth_tracker}")
    if not isinstance(found_inf, (bool, np.bool_)):
        raise TypeError(f"found_inf must be a bool; got {type(found_inf).__name__}")
    s = _f32(s)
    if found_inf:
        return _f32(s * backoff_factor), 0
    clean = growth_tracker + 1
    if clean == growth_interval:
        grown = _f32(s * growth_factor)
        return (grown if math.isfinite(grown) else s), 0
    return s, clean


@dataclass(frozen=True)
class StepRecord:
    """One training step seen by :class:`LossScaler`: the scale used, whether inf/NaN was found (so the
    optimizer step was skipped), and the scale after the update."""

    scale: float
    found_inf: bool
    new_scale: float


def _params_of(target) -> list[Tensor]:
    if isinstance(target, torch.optim.Optimizer):
        return [p for group in target.param_groups for p in group["params"]]
    if isinstance(target, torch.nn.Module):
        return list(target.parameters())
    if isinstance(target, Iterable):
        params = list(target)
        if not all(isinstance(p, Tensor) for p in params):
            raise TypeError("params must be tensors (parameters with .grad)")
        return params
    raise TypeError(
        f"target must be an optimizer, a module or an iterable of parameters; got {type(target).__name__}"
    )


@dataclass
class LossScaler:
    """A dynamic loss scaler (same rule and float32 arithmetic as ``torch.amp.GradScaler``).

    Use::

        scaler = LossScaler()
        scaler.scale_loss(loss).backward()     # gradients are now scale * g
        stepped = scaler.step(optimizer)       # unscale in place; skip the step if any is inf/NaN
        scaler.update()                        # back off or grow the scale

    ``history`` keeps one :class:`StepRecord` per :meth:`update`.
    """

    init_scale: float = 2.0**16
    growth_factor: float = 2.0
    backoff_factor: float = 0.5
    growth_interval: int = 2000
    scale: float = field(init=False)
    growth_tracker: int = field(init=False, default=0)
    history: list[StepRecord] = field(init=False, default_factory=list)
    _found_inf: bool | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        _check_factors(self.growth_factor, self.backoff_factor, self.growth_interval)
        self.scale = _f32(_check_scale(self.init_scale))

    def scale_loss(self, loss: Tensor) -> Tensor:
        """``loss * scale`` (the loss to call ``.backward()`` on)."""
        if not isinstance(loss, Tensor):
            raise TypeError(f"loss must be a torch.Tensor; got {type(loss).__name__}")
        return loss * self.scale

    def unscale_(self, target) -> bool:
        """Divide every ``.grad`` of ``target`` (optimizer, module or parameters) by the scale, in place,
        and return whether any scaled gradient was inf/NaN. Like GradScaler, multiplies by the float32
        reciprocal of the scale (computed in float64)."""
        inv = _f32(1.0 / self.scale)
        found = False
        with torch.no_grad():
            for p in _params_of(target):
                if p.grad is None:
                    continue
                if not bool(torch.isfinite(p.grad).all()):
                    found = True
                p.grad.mul_(inv)
        self._found_inf = found
        return found

    def step(self, optimizer: torch.optim.Optimizer, closure: Callable | None = None) -> bool:
        """Unscale (if :meth:`unscale_` was not called yet) and run ``optimizer.step()`` unless an inf/NaN
        was found. Returns True when the step ran, False when it was skipped."""
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer; got {type(optimizer).__name__}")
        if self._found_inf is None:
            self.unscale_(optimizer)
        if self._found_inf:
            return False
        optimizer.step() if closure is None else optimizer.step(closure)
        return True

    def update(self, found_inf: bool | None = None) -> float:
        """Apply :func:`update_scale` with ``found_inf`` (default: what the last unscale found) and return
        the new scale."""
        if found_inf is None:
            if self._found_inf is None:
                raise ValueError(
                    "found_inf must be given, or unscale_()/step() must run before update() in this step"
                )
            found_inf = self._found_inf
        found_inf = bool(found_inf)
        new_scale, self.growth_tracker = update_scale(
            self.scale,
            self.growth_tracker,
            found_inf,
            growth_factor=self.growth_factor,
            backoff_factor=self.backoff_factor,
            growth_interval=self.growth_interval,
        )
        self.history.append(StepRecord(self.scale, found_inf, new_scale))
        self.scale = new_scale
        self._found_inf = None
        return new_scale


# ---------------------------------------------------------------------------------------------------
# Training steps in reduced precision (on CPU)
# ---------------------------------------------------------------------------------------------------
PRECISIONS = ("fp32", "bf16", "fp16", "fp64")
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
#: float64 gradient entries below this fraction of their tensor's largest are rounding noise of an exact 0.
_EXACT_ZERO = 1e-10


@contextlib.contextmanager
def autocast(precision: str) -> Iterator[None]:
    """``torch.autocast("cpu")`` in ``precision`` ("bf16" or "fp16"), with attention computed by its plain formula.

    Inside, matrix multiplies run in 16 bits while LayerNorm, softmax and the loss stay float32 (torch's CPU
    autocast lists). Attention is pinned to the reference ("math") implementation of
    ``scaled_dot_product_attention``: torch's fused CPU kernels choose their 16-bit code path from the CPU's
    instruction set (AMX, AVX512-BF16, VNNI, ...) and some of them exist only on some CPUs, so the same cell
    would compute differently, or fail, on another machine. Part E Zone 5 uses it for every 16-bit run.
    """
    if precision not in _AUTOCAST_DTYPES:
        raise ValueError(f"precision must be one of {tuple(_AUTOCAST_DTYPES)} for autocast; got {precision!r}")
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with torch.autocast("cpu", dtype=_AUTOCAST_DTYPES[precision]), sdpa_kernel(SDPBackend.MATH):
        yield


def _check_batch(idx, targets) -> None:
    if not (isinstance(idx, Tensor) and isinstance(targets, Tensor)):
        raise TypeError("idx and targets must be integer tensors [batch, t]")
    if idx.ndim != 2 or idx.shape != targets.shape:
        raise ValueError(f"idx and targets must both be [batch, t]; got {tuple(idx.shape)} and {tuple(targets.shape)}")


def precision_grads(
    model: torch.nn.Module,
    idx: Tensor,
    targets: Tensor,
    *,
    precision: str = "fp16",
    loss_scale: float = 1.0,
    emulate: bool = False,
) -> tuple[float, list[Tensor]]:
    """Loss and the *scaled* parameter gradients of one step in ``precision`` (model parameters stay fp32).

    What is real and what is emulated on a CPU:

    * ``"fp32"``: plain float32.
    * ``"fp64"``: the step computed in float64 on a copy of the model, gradients rounded once to float32. The
      rounding of float32 sums depends on the CPU's kernels (a different order on another CPU); float64 noise
      is far below float32's last bit, so these gradients are the same float32 values on every CPU: the
      reference for counting what 16-bit arithmetic loses. Entries below ``1e-10`` of their tensor's largest
      are rounding noise of a gradient that is exactly zero (attention's key bias gets none: softmax ignores a
      constant added to a whole row of scores) and are returned as 0.
    * ``"bf16"``: real. ``torch.autocast("cpu", dtype=torch.bfloat16)`` runs the matrix multiplies (and
      their backward) in bfloat16; LayerNorm, embeddings, softmax and the loss stay float32.
    * ``"fp16"``, ``emulate=False``: real float16 arithmetic, the same way with
      ``torch.autocast("cpu", dtype=torch.float16)``: activation gradients flowing through the matmuls
      are float16, so small ones really vanish; the parameters' gradients arrive as float32.
    * ``"fp16"``, ``emulate=True``: the exact (``"fp64"``) gradients of ``loss * scale``, each cast to float16
      and back. This models float16 gradient *storage* only (every
      parameter, including LayerNorm and embeddings), not float16 arithmetic inside the backward pass.

    Gradients are returned as float32 tensors, still multiplied by ``loss_scale``; ``p.grad`` is cleared.
    """
    _check_batch(idx, targets)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    s = _check_scale(loss_scale)
    if emulate and precision != "fp16":
        raise ValueError("emulate=True applies to precision='fp16' only (bf16 autocast is real on CPU)")
    exact = precision == "fp64" or emulate
    work = copy.deepcopy(model).double() if exact else model
    params = [p for p in work.parameters() if p.requires_grad]
    work.zero_grad(set_to_none=True)
    with torch.enable_grad():
        if exact or precision == "fp32":
            logits = work(idx)
        else:
            with autocast(precision):
                logits = work(idx)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).to(torch.float64 if exact else torch.float32),
                                                 targets.reshape(-1))
        (loss * s).backward()
    grads = []
    for p in params:
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        if exact:
            g = torch.where(g.abs() <= _EXACT_ZERO * g.abs().max(), torch.zeros_like(g), g)
        if emulate:
            g = g.to(torch.float16)
        grads.append(g.detach().to(torch.float32).clone())
    work.zero_grad(set_to_none=True)
    return float(loss.detach()), grads


def count_vanished(grads: Sequence[Tensor], reference: Sequence[Tensor]) -> dict:
    """Compare gradients with a float32 reference of the same step: ``vanished`` = entries that are 0 but
    nonzero in the reference; ``overflow`` = non-finite entries; ``nonzero_reference`` = nonzero entries
    of the reference."""
    if len(grads) != len(reference):
        raise ValueError(f"grads and reference must list the same parameters; got {len(grads)} and {len(reference)}")
    vanished = overflow = nonzero = 0
    for g, r in zip(grads, reference):
        if g.shape != r.shape:
            raise ValueError(f"grads and reference must have matching shapes; got {tuple(g.shape)} and {tuple(r.shape)}")
        ref_nz = r != 0
        nonzero += int(ref_nz.sum())
        vanished += int((ref_nz & (g == 0)).sum())
        overflow += int((~torch.isfinite(g)).sum())
    return {"vanished": vanished, "overflow": overflow, "nonzero_reference": nonzero,
            "vanished_fraction": vanished / nonzero if nonzero else 0.0}


@dataclass(frozen=True)
class TrainStepStats:
    """One optimizer step: loss (before the step), the loss scale used, whether the step was skipped
    (inf/NaN gradients), gradient values that vanished / overflowed against an fp32 reference
    (``-1`` when no reference was computed), and the fraction of gradient values that are exactly 0."""

    step: int
    loss: float
    scale: float
    skipped: bool
    vanished: int
    overflow: int
    nonzero_reference: int
    zero_fraction: float


def mixed_precision_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    idx: Tensor,
    targets: Tensor,
    *,
    precision: str = "fp16",
    scaler: LossScaler | None = None,
    emulate: bool = False,
    reference: bool = False,
    step: int = 0,
    loss_weight: float = 1.0,
) -> TrainStepStats:
    """One training step in ``precision`` with optional dynamic loss scaling (through
    :func:`lecture_lib.training.train_step`).

    Without a scaler the gradients are used as computed (scale 1) and the step always runs, as a naive
    reduced-precision trainer would. With a scaler: backward of ``loss * scale``, unscale, skip the
    step on inf/NaN, update the scale. ``loss_weight`` w multiplies the loss in the backward pass and divides
    the gradients again in float32 before the optimizer (a loss of small magnitude, as in Part E's runs).
    ``reference=True`` also computes the fp32 gradients of the same step (one more forward/backward) to count
    vanished values.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer; got {type(optimizer).__name__}")
    w = positive("loss_weight", loss_weight)
    scale = scaler.scale if scaler is not None else 1.0
    params = [p for p in model.parameters() if p.requires_grad]

    def gradients() -> tuple[float, dict, float]:
        ref = None
        if reference:
            _, ref = precision_grads(model, idx, targets, precision="fp32", loss_scale=scale * w)
        loss, grads = precision_grads(model, idx, targets, precision=precision, loss_scale=scale * w, emulate=emulate)
        counts = count_vanished(grads, ref) if ref is not None else {"vanished": -1, "overflow": -1, "nonzero_reference": -1}
        zero_fraction = 1.0 - sum(int((g != 0).sum()) for g in grads) / sum(g.numel() for g in grads)
        for p, g in zip(params, grads):
            p.grad = g / w
        return loss, counts, zero_fraction

    (loss, counts, zero_fraction), stepped = train_step(model, optimizer, gradients, scaler=scaler)
    optimizer.zero_grad(set_to_none=True)
    return TrainStepStats(step, loss, scale, not stepped, counts["vanished"], counts["overflow"],
                          counts["nonzero_reference"], zero_fraction)


def train_run(
    model: torch.nn.Module,
    batches: Iterable[tuple[Tensor, Tensor]],
    *,
    precision: str = "fp16",
    scaler: LossScaler | None = None,
    emulate: bool = False,
    lr: float = 1e-3,
    reference_every: int = 0,
    loss_weight: float = 1.0,
) -> list[TrainStepStats]:
    """Train ``model`` in place on ``batches`` (pairs ``(idx, targets)``) with torch's default AdamW
    (:func:`lecture_lib.training.make_optimizer` with ``decay_all=True``: betas (0.9, 0.999), weight decay 0.01);
    one :class:`TrainStepStats` per batch (:func:`mixed_precision_step`). ``reference_every=n`` counts vanished
    gradients every n-th step. Part E's fp16/bf16 training runs (``experiments.partE.precision_training``)."""
    lr = positive("lr", lr)
    reference_every = integer("reference_every", reference_every, 0)
    model.train()
    opt = make_optimizer(model, lr, betas=(0.9, 0.999), weight_decay=0.01, decay_all=True)
    out = []
    for i, (idx, targets) in enumerate(batches):
        ref = reference_every > 0 and i % reference_every == 0
        out.append(
            mixed_precision_step(model, opt, idx, targets, precision=precision, scaler=scaler, emulate=emulate,
                                 reference=ref, step=i, loss_weight=loss_weight)
        )
    return out
