"""Part A measurements: quantized weights, FP8, rate-distortion, PTQ / KV-cache / QAT / GPTQ on the tiny LM.

Used by ``notebooks/partA_quantization.ipynb`` (and ``tests/test_partA_experiments.py``). Every function returns
data (dicts, DataFrames, tensors); nothing here plots or prints. The widgets of :mod:`lecture_lib.viz.partA`
call :func:`weight_view` and :func:`fp8_view`.

Evaluation text: perplexity is measured on the first :data:`EVAL_CHARS` characters of the tiny LM's held-out
validation split with non-overlapping windows (``stride = block_size``), so that a dozen model variants fit the
notebook's time budget; every variant is scored on the same text in the same way, so their *differences* are
what matters.
"""

from __future__ import annotations

import copy
import json
import math
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from lecture_lib import fp8, gptq, kvcache, lowbit, quant, rate_distortion as rd
from lecture_lib import tinylm, training
from lecture_lib.tinylm.train import sample_batch

__all__ = [
    "EVAL_CHARS",
    "GRANULARITIES",
    "PTQ_SCHEMES",
    "eval_text",
    "model_perplexity",
    "weight_view",
    "fp8_view",
    "fp8_probe",
    "fp8_relative_error",
    "fp8_overflow_table",
    "rate_distortion_table",
    "linear_weight_bytes",
    "apply_scheme",
    "ptq_table",
    "kv_cache_perplexity",
    "kv_cache_table",
    "qat_finetune",
    "qat_vs_ptq",
    "calibration_inputs",
    "gptq_model",
    "gptq_table",
    "matmul_identity_check",
    "LOWBIT_SIZES",
    "LOWBIT_PATH",
    "cpu_name",
    "LOWBIT_KERNELS",
    "lowbit_numerics",
    "lowbit_timings",
    "lowbit_speedups",
    "record_lowbit",
    "load_lowbit",
]

EVAL_CHARS = 8192
GRANULARITIES = ("per-tensor", "per-channel", "group-32", "group-128")

#: The weight-only PTQ schemes of Zone 5: (label, kind, bits, axis, group_size, fp8 format).
PTQ_SCHEMES: tuple[dict[str, Any], ...] = (
    {"scheme": "FP32 (baseline)", "kind": "fp32", "bits": 32},
    {"scheme": "INT8 per-tensor", "kind": "int", "bits": 8, "axis": None},
    {"scheme": "INT8 per-channel", "kind": "int", "bits": 8, "axis": 0},
    {"scheme": "FP8 E4M3 per-channel", "kind": "fp8", "bits": 8, "fmt": "e4m3"},
    {"scheme": "FP8 E5M2 per-channel", "kind": "fp8", "bits": 8, "fmt": "e5m2"},
    {"scheme": "INT4 per-tensor", "kind": "int", "bits": 4, "axis": None},
    {"scheme": "INT4 per-channel", "kind": "int", "bits": 4, "axis": 0},
    {"scheme": "INT4 group-128", "kind": "int", "bits": 4, "group_size": 128},
    {"scheme": "INT4 group-32", "kind": "int", "bits": 4, "group_size": 32},
    {"scheme": "INT3 per-channel", "kind": "int", "bits": 3, "axis": 0},
    {"scheme": "INT3 group-32", "kind": "int", "bits": 3, "group_size": 32},
)


# ----------------------------------------------------------------------------------------------- helpers
def eval_text(n_chars: int = EVAL_CHARS) -> str:
    """The first ``n_chars`` characters of the validation split (the Zone 5 evaluation text)."""
    if isinstance(n_chars, bool) or not isinstance(n_chars, int) or n_chars < 2:
        raise ValueError(f"n_chars must be an int >= 2; got {n_chars!r}")
    return tinylm.validation_text()[:n_chars]


def model_perplexity(model: nn.Module, text: str | None = None) -> float:
    """``tinylm.perplexity`` on ``text`` (default :func:`eval_text`) with non-overlapping windows."""
    text = eval_text() if text is None else text
    return tinylm.perplexity(model, text, stride=model.config.block_size)


def _granularity(granularity: str) -> tuple[int | None, int | None]:
    if granularity == "per-tensor":
        return None, None
    if granularity == "per-channel":
        return 0, None
    if isinstance(granularity, str) and granularity.startswith("group-"):
        return None, int(granularity.split("-", 1)[1])
    raise ValueError(f"granularity must be one of {GRANULARITIES} (or 'group-<g>'); got {granularity!r}")


# ----------------------------------------------------------------------------------------------- Zone 1
def weight_view(weight: Any, bits: int = 4, *, symmetric: bool = True, granularity: str = "per-channel",
                row: int = 0) -> dict[str, Any]:
    """Quantize a weight matrix [out, in] and describe it for the Zone 1 widget.

    Returns ``values`` (the slice that shares the scale of element ``(row, 0)``: the whole tensor, row ``row``
    or its first group), ``levels`` (the values that slice's grid can represent), ``stats``
    (:func:`lecture_lib.quant.quantization_error_stats` over the whole tensor, plus ``mean_error_over_scale``,
    mean |error| / scale averaged over elements), ``nbytes`` (QTensor.nbytes), ``fp32_bytes`` and
    ``compression``.
    """
    w = torch.as_tensor(weight, dtype=torch.float32).detach()
    if w.ndim != 2:
        raise ValueError(f"weight must be a 2-d [out, in] matrix; got shape {tuple(w.shape)}")
    if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < w.shape[0]:
        raise ValueError(f"row must be an int in 0..{w.shape[0] - 1}; got {row!r}")
    axis, group = _granularity(granularity)
    qt = quant.quantize(w, bits, symmetric=symmetric, axis=axis, group_size=group)
    scale = qt.expanded_scale().expand_as(w)
    zp = qt.expanded_zero_point().expand_as(w).to(torch.float32)
    s, z = float(scale[row, 0]), float(zp[row, 0])
    qmin, qmax = quant.qrange(bits, symmetric)
    levels = (torch.arange(qmin, qmax + 1, dtype=torch.float32) - (0.0 if symmetric else z)) * s
    if axis is None and group is None:
        values = w.reshape(-1)
    elif group is None:
        values = w[row]
    else:
        values = w[row, :group]
    w_hat = quant.dequantize(qt)
    stats = quant.quantization_error_stats(w, qt)
    stats["mean_error_over_scale"] = float(((w - w_hat).abs() / scale).mean())
    return {
        "values": values,
        "levels": levels,
        "scale": s,
        "zero_point": int(z),
        "w_hat": w_hat,
        "stats": stats,
        "nbytes": qt.nbytes,
        "fp32_bytes": 4 * w.numel(),
        "compression": 4 * w.numel() / qt.nbytes,
        "bits": bits,
        "symmetric": symmetric,
        "granularity": granularity,
    }


def fp8_relative_error(fmt: str = "e4m3", magnitudes: Any = None, *, saturate: bool = True) -> pd.DataFrame:
    """Relative rounding error ``|x - fp8(x)| / |x|`` at each magnitude (default: 2001 points, log-spaced 1e-5..1e6)."""
    x = torch.logspace(-5, 6, 2001, dtype=torch.float32) if magnitudes is None else torch.as_tensor(
        magnitudes, dtype=torch.float32)
    if x.ndim != 1 or x.numel() == 0 or bool((x <= 0).any()) or not bool(torch.isfinite(x).all()):
        raise ValueError("magnitudes must be a non-empty 1-d array of finite positive numbers")
    y = fp8.fp8_round(x, fmt, saturate=saturate)
    rel = ((x.double() - y.double()).abs() / x.double()).numpy()
    return pd.DataFrame({"x": x.double().numpy(), "fp8": y.double().numpy(), "rel_error": rel})


def fp8_overflow_table(values: Sequence[float] = (100.0, 448.0, 464.0, 465.0, 1000.0, 57344.0, 61440.0, 1e5,
                                                  math.inf)) -> pd.DataFrame:
    """What each format stores for large inputs, with ``saturate=True`` and ``saturate=False``."""
    x = torch.tensor(list(values), dtype=torch.float32)
    rows: dict[str, Any] = {"x": x.tolist()}
    for f in fp8.FP8_FORMATS:
        for sat in (True, False):
            rows[f"{f.upper()} {'saturate' if sat else 'no saturate'}"] = fp8.fp8_round(x, f, saturate=sat).tolist()
    return pd.DataFrame(rows)


def fp8_view(fmt: str = "e4m3", x: float = 1000.0, *, saturate: bool = True) -> dict[str, Any]:
    """Everything the FP8 explorer draws: the positive finite values, the relative-error curve (rounding with
    ``saturate`` as given: without saturation the curve is NaN/inf above the largest finite value), one probe value."""
    info = fp8.format_info(fmt)
    table = pd.DataFrame(fp8.value_table(fmt))
    pos = np.sort(table[(table["class"].isin(["normal", "subnormal"])) & (table["value"] > 0)]["value"].to_numpy())
    view = {"fmt": fmt, "info": info, "positive_values": pos, "curve": fp8_relative_error(fmt, saturate=saturate)}
    view.update(fp8_probe(fmt, x, saturate=saturate))
    return view


def fp8_probe(fmt: str, x: float, *, saturate: bool = True) -> dict[str, Any]:
    """``{"x", "stored", "rel_error", "saturate"}``: what ``fmt`` stores for one value (the explorer's probe)."""
    if not isinstance(x, (int, float)) or isinstance(x, bool) or math.isnan(x):
        raise ValueError(f"x must be a real number; got {x!r}")
    stored = float(fp8.fp8_round(torch.tensor([float(x)]), fmt, saturate=saturate)[0])
    rel = abs(x - stored) / abs(x) if x != 0 and math.isfinite(stored) and math.isfinite(x) else math.nan
    return {"x": float(x), "stored": stored, "rel_error": rel, "saturate": saturate}


# ----------------------------------------------------------------------------------------------- Zone 2
def rate_distortion_table(bits: Sequence[int] = range(2, 9), *, block_size: int = 4096) -> pd.DataFrame:
    """MSE (in units of sigma**2) of b-bit quantizers of a Gaussian against the bound ``2**(-2b)``.

    Columns: ``bits``, ``bound``, ``lloyd_max`` (2**b levels), ``uniform_opt_clip`` (2**b levels, best clip),
    ``uniform_absmax`` (2**b - 1 levels, the course's symmetric INT-b grid, clipped at the median max |x| of a
    ``block_size`` block), ``int_b_opt_clip`` (the same 2**b - 1 level grid with the best clip), and the
    ``*_db`` gaps above the bound.
    """
    rows = []
    amax = rd.gaussian_block_absmax(block_size)
    for b in bits:
        n = 2**b
        bound = rd.gaussian_rd_bound(b)
        lm = rd.lloyd_max_gaussian(n)[2]
        clip = rd.optimal_clip(n)[1]
        sym_levels = max(2**b - 1, 2)
        absmax = rd.gaussian_mse(*rd.uniform_quantizer(sym_levels, amax))
        int_clip = rd.optimal_clip(sym_levels)[1]
        rows.append({"bits": b, "bound": bound, "lloyd_max": lm, "uniform_opt_clip": clip,
                     "int_b_opt_clip": int_clip, "uniform_absmax": absmax})
    df = pd.DataFrame(rows)
    for col in ("lloyd_max", "uniform_opt_clip", "int_b_opt_clip", "uniform_absmax"):
        df[f"{col}_db"] = 10 * np.log10(df[col] / df["bound"])
    return df


def matmul_identity_check(seed: int = 0, tokens: int = 6, d_in: int = 16, d_out: int = 5) -> dict[str, float]:
    """Per-channel INT8 matmul: the correct identity ``Y_ij = s_X s_W,j sum_k Xq_ik Wq_jk`` vs the lecture's form.

    Returns the max |difference| from the float matmul of the dequantized operands for both forms.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(tokens, d_in, generator=g, dtype=torch.float64)
    w = torch.randn(d_out, d_in, generator=g, dtype=torch.float64) * torch.logspace(-1, 1, d_out, dtype=torch.float64)[:, None]
    qx = quant.quantize(x, 8)  # per-tensor activations
    qw = quant.quantize(w, 8, axis=0)  # per-output-channel weights
    sx = float(qx.scale.reshape(-1)[0])
    sw = qw.scale.reshape(-1).double()
    xq, wq = qx.codes.double(), qw.codes.double()
    reference = (xq * sx) @ (wq * sw[:, None]).T  # dequantize, then multiply
    correct = sx * sw[None, :] * (xq @ wq.T)  # integer matmul, then one scale per output column
    # the lecture: Y_ij = s_X sum_k X_ik (sum_j W^Q_jk s_W,j) -- the inner sum over j runs over all outputs
    mixed = (wq * sw[:, None]).sum(dim=0)  # [d_in]
    lecture = sx * (xq @ mixed)[:, None].expand(tokens, d_out)
    return {"correct_max_abs_diff": float((correct - reference).abs().max()),
            "lecture_max_abs_diff": float((lecture - reference).abs().max()),
            "output_scale": float(reference.abs().max())}


# ----------------------------------------------------------------------------------------------- Zone 5 PTQ
def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def linear_weight_bytes(model: nn.Module, scheme: dict[str, Any]) -> int:
    """Bytes of all Linear weights stored under ``scheme`` (codes packed + scales + zero points)."""
    total = 0
    for lin in _linears(model):
        w = lin.weight.detach()
        kind = scheme.get("kind", "int")
        if kind == "fp32":
            total += 4 * w.numel()
        elif kind == "fp8":
            total += fp8.quantize_fp8(w, scheme["fmt"], axis=0).nbytes
        elif kind == "int":
            total += quant.quantize(w, scheme["bits"], symmetric=scheme.get("symmetric", True),
                                    axis=scheme.get("axis"), group_size=scheme.get("group_size")).nbytes
        else:
            raise ValueError(f"scheme kind must be 'fp32', 'int' or 'fp8'; got {kind!r}")
    return total


def apply_scheme(model: nn.Module, scheme: dict[str, Any]) -> nn.Module:
    """A quantized copy of ``model`` (Linear weights only) under ``scheme``; ``fp32`` returns ``model`` itself."""
    kind = scheme.get("kind", "int")
    if kind == "fp32":
        return model
    if kind == "fp8":
        return fp8.quantize_weights_fp8(model, scheme["fmt"], axis=0)
    if kind == "int":
        g = scheme.get("group_size")
        return quant.quantize_weights(model, scheme["bits"], symmetric=scheme.get("symmetric", True),
                                      axis=None if g is not None else scheme.get("axis"), group_size=g)
    raise ValueError(f"scheme kind must be 'fp32', 'int' or 'fp8'; got {kind!r}")


def ptq_table(model: nn.Module, text: str | None = None, schemes: Sequence[dict[str, Any]] = PTQ_SCHEMES) -> pd.DataFrame:
    """Perplexity and Linear-weight bytes of ``model`` under each weight-only PTQ scheme.

    Columns: ``scheme``, ``bits``, ``linear_kib``, ``bits_per_weight`` (incl. scales), ``perplexity``,
    ``increase_pct`` (vs the first row, which should be the FP32 baseline).
    """
    text = eval_text() if text is None else text
    n_w = sum(lin.weight.numel() for lin in _linears(model))
    rows = []
    for sc in schemes:
        qm = apply_scheme(model, sc)
        nbytes = linear_weight_bytes(model, sc)
        rows.append({"scheme": sc["scheme"], "bits": sc["bits"], "linear_kib": nbytes / 1024,
                     "bits_per_weight": 8 * nbytes / n_w, "perplexity": model_perplexity(qm, text)})
    df = pd.DataFrame(rows)
    df["increase_pct"] = 100 * (df["perplexity"] / df["perplexity"].iloc[0] - 1)
    return df


# ----------------------------------------------------------------------------------------------- Zone 5 KV
def kv_cache_perplexity(model: nn.Module, kind: str = "fp32", text: str | None = None) -> dict[str, Any]:
    """Perplexity with the KV cache stored as ``kind`` (see :data:`lecture_lib.kvcache.KINDS`), and its bytes.

    The text is cut into non-overlapping windows of ``block_size`` characters; each window is fed through the
    model *with a cache* (keys and values go through the storage before attention reads them back), so every
    attention read sees quantized K/V. Returns ``perplexity``, ``cache_bytes`` (one full window: all layers,
    K and V, codes + scales) and ``bytes_per_token``.
    """
    text = eval_text() if text is None else text
    kvcache.bytes_per_value(kind, 1)  # validates kind
    bs = model.config.block_size
    ids = torch.tensor(tinylm.encode(text), dtype=torch.long)
    n_win = (ids.numel() - 1) // bs
    if n_win < 1:
        raise ValueError(f"text must be longer than one window ({bs + 1} characters); got {len(text)}")
    x = torch.stack([ids[i * bs: (i + 1) * bs] for i in range(n_win)])
    y = torch.stack([ids[i * bs + 1: (i + 1) * bs + 1] for i in range(n_win)])
    factory = None if kind == "fp32" else (lambda: kvcache.QuantizedKVStorage(kind))
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            cache = model.new_cache(n_win, storage=factory)
            logits = model(x, cache)
            nll = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="mean")
    finally:
        model.train(was)
    per_seq = cache.nbytes / n_win
    return {"kind": kind, "perplexity": math.exp(float(nll)), "cache_bytes": per_seq, "bytes_per_token": per_seq / bs}


def kv_cache_table(model: nn.Module, kinds: Sequence[str] = ("fp32", "fp16", "int8", "fp8", "fp8_e5m2", "int4"),
                   text: str | None = None) -> pd.DataFrame:
    """:func:`kv_cache_perplexity` for each kind, with the increase over the first kind and the memory ratio."""
    df = pd.DataFrame([kv_cache_perplexity(model, k, text) for k in kinds])
    df["increase_pct"] = 100 * (df["perplexity"] / df["perplexity"].iloc[0] - 1)
    df["memory_vs_first"] = df["cache_bytes"] / df["cache_bytes"].iloc[0]
    return df


# ----------------------------------------------------------------------------------------------- Zone 5 QAT
class _FakeQuantLinear(nn.Linear):
    """A Linear whose forward uses ``fake_quantize(weight)`` (straight-through gradient to the float weight)."""

    bits: int = 4
    axis: int | None = 0
    group_size: int | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        wq = quant.fake_quantize(self.weight, self.bits, axis=self.axis, group_size=self.group_size)
        return F.linear(x, wq, self.bias)


def _with_fake_quant(model: nn.Module, bits: int, axis: int | None, group_size: int | None) -> nn.Module:
    out = copy.deepcopy(model)
    for module in out.modules():
        for name, child in list(module.named_children()):
            if type(child) is nn.Linear:
                child.__class__ = _FakeQuantLinear
                child.bits, child.axis, child.group_size = bits, axis, group_size
    return out


def _strip_fake_quant(model: nn.Module) -> nn.Module:
    out = copy.deepcopy(model)
    for m in out.modules():
        if isinstance(m, _FakeQuantLinear):
            m.__class__ = nn.Linear
            for attr in ("bits", "axis", "group_size"):
                m.__dict__.pop(attr, None)
    return out


def qat_finetune(model: nn.Module, bits: int, *, axis: int | None = 0, group_size: int | None = None,
                 steps: int = 100, batch_size: int = 16, lr: float = 5e-4, seed: int = 0,
                 fake_quant: bool = True, progress: Any = None, dtype: torch.dtype = torch.float64) -> nn.Module:
    """Fine-tune a copy of ``model`` for ``steps`` AdamW steps on the training split (the course's shared
    :func:`lecture_lib.training.train_step`, gradient clipping at 1.0).

    The fine-tuning runs in ``dtype`` (float64 by default) and the result is returned as float32. Precision is
    not the lesson here, portability is the reason: a few hundred low-bit steps amplify float32 rounding, and
    float32 sums come out in a different order on another CPU (another kernel), so a float32 run ends a
    percent or so apart from machine to machine. In float64 the runs agree to far below what is printed.

    ``fake_quant=True`` (QAT): every Linear computes with ``fake_quantize(W, bits, axis, group_size)`` and the
    straight-through estimator passes gradients to the float weights. ``fake_quant=False``: the same fine-tuning
    without quantization (a control: does the extra training, not the fake quantization, help?). Returns the
    float model (plain ``nn.Linear`` layers); quantize it with :func:`lecture_lib.quant.quantize_weights` to
    deploy. Deterministic for a given ``seed`` (local generator; one thread recommended).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0; got {steps!r}")
    quant.qrange(bits)
    gen = torch.Generator().manual_seed(seed)  # batches from a local generator; the global one is left alone
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64; got {dtype!r}")
    work = _with_fake_quant(model, bits, axis, group_size) if fake_quant else copy.deepcopy(model)
    work = work.to(dtype)
    data = torch.tensor(tinylm.encode(tinylm.train_text()), dtype=torch.long)
    bs = model.config.block_size
    opt = training.make_optimizer(work, lr, weight_decay=0.0, decay_all=True)
    work.train()
    for step in range(steps):
        xb, yb = sample_batch(data, bs, batch_size, gen)
        training.train_step(work, opt, lambda: training.lm_gradients(work, xb, yb), grad_clip=1.0)
        if progress is not None:
            progress(step)
    work.eval()
    work = work.to(torch.float32)
    return _strip_fake_quant(work) if fake_quant else work


def qat_vs_ptq(model: nn.Module, bits: int, *, axis: int | None = 0, group_size: int | None = None,
               steps: int = 100, batch_size: int = 16, lr: float = 5e-4, seed: int = 0,
               text: str | None = None) -> pd.DataFrame:
    """FP32, PTQ, fine-tuned-then-PTQ (control) and QAT perplexities at ``bits`` (``axis``/``group_size``)."""
    text = eval_text() if text is None else text
    kw = dict(symmetric=True, axis=None if group_size else axis, group_size=group_size)
    base = model_perplexity(model, text)
    ptq = model_perplexity(quant.quantize_weights(model, bits, **kw), text)
    ft = qat_finetune(model, bits, axis=axis, group_size=group_size, steps=steps, batch_size=batch_size, lr=lr,
                      seed=seed, fake_quant=False)
    qat = qat_finetune(model, bits, axis=axis, group_size=group_size, steps=steps, batch_size=batch_size, lr=lr,
                       seed=seed, fake_quant=True)
    rows = [
        {"model": "FP32", "perplexity": base},
        {"model": f"PTQ INT{bits}", "perplexity": ptq},
        {"model": f"fine-tune {steps} steps in FP32, then PTQ INT{bits}",
         "perplexity": model_perplexity(quant.quantize_weights(ft, bits, **kw), text)},
        {"model": f"QAT {steps} steps (fake-quant + STE), then INT{bits}",
         "perplexity": model_perplexity(quant.quantize_weights(qat, bits, **kw), text)},
    ]
    df = pd.DataFrame(rows)
    df["increase_pct"] = 100 * (df["perplexity"] / base - 1)
    return df


# ----------------------------------------------------------------------------------------------- Zone 6 GPTQ
def calibration_inputs(model: nn.Module, n_windows: int = 8, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """Inputs of every Linear (by module name) on ``n_windows`` random training windows, as [tokens, in]."""
    gen = torch.Generator().manual_seed(seed)
    data = torch.tensor(tinylm.encode(tinylm.train_text()), dtype=torch.long)
    bs = model.config.block_size
    starts = torch.randint(0, data.numel() - bs - 1, (n_windows,), generator=gen)
    xb = data[starts[:, None] + torch.arange(bs)]
    store: dict[str, list[torch.Tensor]] = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out, name=name: store.setdefault(name, []).append(inp[0].detach().reshape(-1, inp[0].shape[-1]))))
    try:
        with torch.no_grad():
            model.eval()
            model(xb)
    finally:
        for h in hooks:
            h.remove()
    return {k: torch.cat(v) for k, v in store.items()}


def gptq_model(model: nn.Module, bits: int, calib: dict[str, torch.Tensor], *, group_size: int | None = None,
               method: str = "gptq") -> nn.Module:
    """A copy of ``model`` whose Linear weights are GPTQ- (or ``method="rtn"``) quantized, one layer at a time.

    ``calib`` maps module names to their float-model inputs (:func:`calibration_inputs`).
    """
    if method not in ("gptq", "rtn"):
        raise ValueError(f"method must be 'gptq' or 'rtn'; got {method!r}")
    out = copy.deepcopy(model)
    for name, m in out.named_modules():
        if isinstance(m, nn.Linear):
            w = m.weight.detach()
            if method == "rtn":
                wq = gptq.rtn_quantize(w, bits, group_size=group_size)
            else:
                if name not in calib:
                    raise ValueError(f"calib has no inputs for Linear {name!r}")
                wq = gptq.gptq_quantize(w, gptq.hessian(calib[name]), bits, group_size=group_size)
            m.weight = nn.Parameter(wq.to(w.dtype), requires_grad=False)
    return out


def gptq_table(model: nn.Module, bits_list: Sequence[int] = (4, 3), *, group_size: int | None = None,
               calib: dict[str, torch.Tensor] | None = None, text: str | None = None) -> pd.DataFrame:
    """Perplexity of round-to-nearest vs GPTQ (per-channel or group-wise) at each bit width."""
    text = eval_text() if text is None else text
    calib = calibration_inputs(model) if calib is None else calib
    base = model_perplexity(model, text)
    rows = []
    for b in bits_list:
        for method in ("rtn", "gptq"):
            ppl = model_perplexity(gptq_model(model, b, calib, group_size=group_size, method=method), text)
            rows.append({"bits": b, "method": "GPTQ" if method == "gptq" else "round-to-nearest",
                         "perplexity": ppl, "increase_pct": 100 * (ppl / base - 1)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ low-bit kernels
#: Weight shapes [out, in] of the low-bit kernel timings: the tiny LM's MLP (512 x 128, 128 x 512) up to a
#: LLaMA-7B MLP (11008 x 4096, 4096 x 11008).
LOWBIT_SIZES: tuple[tuple[int, int], ...] = ((512, 128), (128, 512), (1024, 1024), (2048, 2048), (4096, 4096),
                                             (11008, 4096), (4096, 11008))
LOWBIT_PATH = Path(__file__).resolve().parent / "data" / "partA_lowbit.json"
#: The kernels timed, in table order: float32 and bfloat16 F.linear (the peers), then the packed low-bit ones.
LOWBIT_KERNELS = ("fp32", "bf16", "int8 w-only, fp32 act", "int8 w-only, bf16 act", "int4 w-only, fp32 act",
                  "int4 w-only, bf16 act", "int8 dynamic")


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _lowbit_kernels(w: torch.Tensor) -> tuple[dict[str, Callable[[torch.Tensor], torch.Tensor]], dict[str, torch.Tensor]]:
    """Every kernel of :data:`LOWBIT_KERNELS` on one weight (each takes a float32 ``x [M, K]``; activations are
    cast outside the timed call), and the float32 weight each one stands for."""
    bf = torch.bfloat16
    w8, w8b = lowbit.int8_weight_only(w), lowbit.int8_weight_only(w, dtype=bf)
    w4, w4b = lowbit.int4_weight_only(w, 32), lowbit.int4_weight_only(w, 32, dtype=bf)
    qlin, wd = lowbit.int8_dynamic(w)
    wb = w.to(bf)
    kernels = {"fp32": lambda x: F.linear(x, w), "bf16": lambda x: F.linear(x, wb),
               "int8 w-only, fp32 act": lambda x: lowbit.int8_matvec(x, w8),
               "int8 w-only, bf16 act": lambda x: lowbit.int8_matvec(x, w8b),
               "int4 w-only, fp32 act": lambda x: lowbit.int4_matvec(x, w4),
               "int4 w-only, bf16 act": lambda x: lowbit.int4_matvec(x, w4b),
               "int8 dynamic": lambda x: lowbit.int8_dynamic_matvec(x, qlin)}
    refs = {"fp32": w, "bf16": wb.float(), "int8 w-only, fp32 act": w8.dequantize(),
            "int8 w-only, bf16 act": w8b.dequantize(), "int4 w-only, fp32 act": w4.dequantize(),
            "int4 w-only, bf16 act": w4b.dequantize(), "int8 dynamic": wd}
    return kernels, refs


def lowbit_numerics(out_features: int = 512, in_features: int = 128, *, batch: int = 4, seed: int = 0) -> pd.DataFrame:
    """Each kernel's output vs the float64 product of its input (as the kernel sees it: bfloat16-rounded for the
    bf16 kernels) with the dequantized weight it stands for (relative max error), and vs the float32 weight."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(out_features, in_features, generator=g) * 0.02
    x = torch.randn(batch, in_features, generator=g)
    kernels, refs = _lowbit_kernels(w)
    exact = x.double() @ w.double().T
    rows = []
    for name, fn in kernels.items():
        xin = x.to(torch.bfloat16) if ("bf16" in name) else x
        y = fn(xin).double()
        ref = xin.double() @ refs[name].double().T
        scale = ref.abs().max().item()
        rows.append({"kernel": name, "vs its dequantized weight": (y - ref).abs().max().item() / scale,
                     "vs the float32 weight": (y - exact).abs().max().item() / scale})
    return pd.DataFrame(rows).set_index("kernel")


def lowbit_timings(sizes: Sequence[tuple[int, int]] = LOWBIT_SIZES, *, kernels: Sequence[str] = LOWBIT_KERNELS,
                   repeats: int = 7, min_sample: float = 2e-3, clock: Callable[[], float] = time.process_time,
                   seed: int = 0) -> pd.DataFrame:
    """Median time (us) of one matrix-vector product ``x [1, in] @ W^T`` per kernel and weight size, one thread.

    Each sample runs a kernel enough times to last ``min_sample`` seconds; the kernels are interleaved within
    every one of ``repeats`` rounds (a burst of load hits them alike) and the median sample counts. The default
    clock is this process's CPU time. Long format: columns ``out``, ``in``, ``kernel``, ``us``."""
    unknown = [k for k in kernels if k not in LOWBIT_KERNELS]
    if unknown:
        raise ValueError(f"kernels must be drawn from {LOWBIT_KERNELS}; got {unknown}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows = []
        for n, k in sizes:
            g = torch.Generator().manual_seed(seed)
            w = torch.randn(n, k, generator=g) * 0.02
            x = torch.randn(1, k, generator=g)
            fns, _ = _lowbit_kernels(w)
            inputs = {name: (x.to(torch.bfloat16) if "bf16" in name else x) for name in kernels}
            loops = {}
            for name in kernels:  # warm up, then size each sample to about min_sample
                fns[name](inputs[name])
                t0 = clock()
                fns[name](inputs[name])
                loops[name] = max(1, int(min_sample / max(clock() - t0, 1e-7)))
            samples: dict[str, list[float]] = {name: [] for name in kernels}
            for _ in range(repeats):
                for name in kernels:
                    fn, xin = fns[name], inputs[name]
                    t0 = clock()
                    for _ in range(loops[name]):
                        fn(xin)
                    samples[name].append((clock() - t0) / loops[name])
            rows += [{"out": n, "in": k, "kernel": name, "us": statistics.median(v) * 1e6} for name, v in samples.items()]
        return pd.DataFrame(rows)
    finally:
        torch.set_num_threads(threads)


def lowbit_speedups(timings: pd.DataFrame) -> pd.DataFrame:
    """Speed-up of every kernel over float32 ``F.linear`` (t_fp32 / t_kernel) per weight shape, beside the
    bandwidth-bound speed-ups of 8 and 4 bits (:func:`lecture_lib.lowbit.bandwidth_bound_ratio`)."""
    t = timings.pivot_table(index=["out", "in"], columns="kernel", values="us", sort=False)
    out = t.drop(columns="fp32").rdiv(t["fp32"], axis=0)
    out = out[[k for k in LOWBIT_KERNELS if k in out.columns]]
    out.insert(0, "fp32 MB", [n * k * 4 / 1e6 for n, k in t.index])
    out["bound: 8-bit"] = [lowbit.bandwidth_bound_ratio(n, k, 8) for n, k in t.index]
    out["bound: 4-bit"] = [lowbit.bandwidth_bound_ratio(n, k, 4, group_size=32) for n, k in t.index]
    return out


def record_lowbit(path: Path | str = LOWBIT_PATH, **kwargs: Any) -> dict[str, Any]:
    """Run :func:`lowbit_timings` and write it, with the machine's description, as JSON (``benchmarks/bench_lowbit.py
    --record``)."""
    df = lowbit_timings(**kwargs)
    data = {"what": "median CPU time (us) of one x[1, in] @ W^T per kernel, one thread "
                    "(lecture_lib.experiments.partA.lowbit_timings)",
            "cpu": cpu_name(), "capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__,
            "quantized_engine": torch.backends.quantized.engine, "machine": platform.machine(),
            "rows": df.to_dict(orient="records")}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=1) + "\n")
    return data


def load_lowbit(path: Path | str = LOWBIT_PATH) -> tuple[dict[str, Any], pd.DataFrame]:
    """The recorded low-bit timings: (machine description, table as :func:`lowbit_timings` returns it)."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not {"cpu", "capability", "rows"} <= set(data):
        raise ValueError(f"{path} is not a file written by record_lowbit (needs keys cpu, capability, rows)")
    meta = {k: v for k, v in data.items() if k != "rows"}
    return meta, pd.DataFrame(data["rows"])
