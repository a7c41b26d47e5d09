"""Part E measurements: fp16/bf16 gradients and training runs, checkpointing memory, batching calibrated on the tiny LM.

Every function runs a real measurement with :mod:`lecture_lib.mixed_precision`, :mod:`lecture_lib.checkpointing`,
:mod:`lecture_lib.batching` and :mod:`lecture_lib.tinylm`, and returns plain data (dicts, lists of tensors or
pandas DataFrames). ``notebooks/partE_serving_training_optimization.ipynb`` shows them, ``lecture_lib.viz.partE``
draws them, ``tests/test_partE_experiments.py`` checks them. Nothing here plots or prints.

Recorded data: wall-clock timings depend on the machine, so they are measured once by :func:`record_timings`
(``python -m lecture_lib.experiments.partE``) and stored in ``data/partE_timings.json``: the time of one training
step in fp32 / bf16 / fp16 autocast, the time of one step with k checkpointed segments, the time of one decoding
step of the teacher per batch size (the batching cost model is fitted on it), and a copy bandwidth.
Exact quantities (bytes saved for backward, gradient counts, losses) are computed live.

**The loss weight.** Our student is small and its per-value gradients are fairly large (most fit fp16 without
help: about 0.2 % vanish). Big models trained on many tokens have much smaller per-value gradients. To see what
happens to them, :func:`precision_training` multiplies the loss by ``loss_weight`` (e.g. ``2**-12``) before the
backward pass and divides the gradients by it again, in float32, before the optimizer. In fp32 that changes
nothing; in fp16 it pushes many gradient values below the smallest subnormal, exactly the situation that loss
scaling was invented for.
"""

from __future__ import annotations

import json
import math
import numbers
import platform
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch

from lecture_lib import batching as bt
from lecture_lib._checks import integer, positive
from lecture_lib import checkpointing as ck
from lecture_lib import mixed_precision as mp
from lecture_lib import tinylm
from lecture_lib.tinylm.train import PRESETS, sample_batch

__all__ = [
    "TIMINGS_PATH",
    "LOSS_WEIGHT",
    "TRAINING_CONFIGS",
    "training_batches",
    "gradient_snapshot",
    "loss_scale_summary",
    "loss_scale_sweep",
    "real_fp16_vanishing",
    "precision_training",
    "training_summary",
    "precision_step_times",
    "checkpoint_memory",
    "checkpoint_summary",
    "decode_calibration",
    "batching_summary",
    "batching_curves",
    "little_law_table",
    "bandwidth_table",
    "record_timings",
    "load_timings",
    "timing_ratios",
    "lecture_checks",
]

TIMINGS_PATH = Path(__file__).resolve().parent / "data" / "partE_timings.json"
#: The loss weight of the fp16 training experiment (see the module docstring).
LOSS_WEIGHT = 2.0**-12
#: The training runs compared in Zone 5: label -> (precision, use a dynamic loss scaler).
TRAINING_CONFIGS: dict[str, tuple[str, bool]] = {
    "fp32": ("fp32", False),
    "fp16, no loss scaling": ("fp16", False),
    "fp16 + dynamic loss scaling": ("fp16", True),
    "bf16, no loss scaling": ("bf16", False),
}



# ------------------------------------------------------------------------------------------------ data
def training_batches(n: int, *, batch_size: int = 8, block_size: int = 64, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``n`` random ``(inputs, targets)`` windows of the tiny LM's training text (seeded, reproducible)."""
    n, batch_size, block_size = integer("n", n), integer("batch_size", batch_size), integer("block_size", block_size)
    if block_size > 128:
        raise ValueError(f"block_size must be <= 128 (the tiny LM's context); got {block_size}")
    ids = torch.tensor(tinylm.encode(tinylm.train_text()), dtype=torch.long)
    gen = torch.Generator().manual_seed(int(seed))
    return [sample_batch(ids, block_size, batch_size, gen) for _ in range(n)]


def gradient_snapshot(name: str = "student", *, batch_size: int = 8, block_size: int = 64, seed: int = 0,
                      loss_weight: float = 1.0) -> list[torch.Tensor]:
    """The gradients of ``loss_weight * loss`` of the trained model ``name`` on one seeded batch, as float32.

    Computed in float64 and rounded once (``precision="fp64"``), so they are the same values on every CPU.
    """
    model = tinylm.load(name).train()
    (x, y), = training_batches(1, batch_size=batch_size, block_size=block_size, seed=seed)
    _, grads = mp.precision_grads(model, x, y, precision="fp64", loss_scale=positive("loss_weight", loss_weight))
    return grads


# ------------------------------------------------------------------------------------------------ loss scale
def loss_scale_summary(grads: Any, log2_scale: float, fmt: str = "fp16") -> dict[str, Any]:
    """Where the values ``2**log2_scale * g`` land in ``fmt`` (the loss-scale widget's pure function).

    Fractions are of the nonzero gradient values: ``vanished`` (rounded to 0), ``subnormal`` (kept, reduced
    precision), ``normal``, ``overflow`` (became inf: the scaler would skip the step).
    """
    if isinstance(log2_scale, bool) or not isinstance(log2_scale, numbers.Real) or not math.isfinite(log2_scale):
        raise TypeError(f"log2_scale must be a finite number (the scale is 2**log2_scale); got {log2_scale!r}")
    rep = mp.underflow_fraction(grads, 2.0 ** float(log2_scale), fmt)
    nz = rep.nonzero or 1
    return {
        "format": rep.fmt,
        "log2_scale": float(log2_scale),
        "scale": rep.scale,
        "nonzero": rep.nonzero,
        "vanished": rep.vanished_fraction,
        "subnormal": rep.subnormal_fraction,
        "normal": rep.normal / nz,
        "overflow": rep.overflow_fraction,
        "step_skipped": rep.overflow > 0,
    }


def loss_scale_sweep(grads: Any, log2_scales: Sequence[float] = tuple(range(-8, 33, 2)), fmt: str = "fp16") -> pd.DataFrame:
    """:func:`loss_scale_summary` for each scale, one row each."""
    return pd.DataFrame([loss_scale_summary(grads, s, fmt) for s in log2_scales])


def real_fp16_vanishing(name: str = "student", log2_scales: Sequence[int] = (0, 6, 10, 16, 24), *,
                        loss_weight: float = 1.0, batch_size: int = 8, block_size: int = 64, seed: int = 0) -> pd.DataFrame:
    """Vanished and overflowed gradient values in real fp16 autocast vs the cast-after-scaling emulation.

    Reference: the exact gradients of the same step times the same scale (computed in float64, rounded to
    float32). ``real``: ``torch.autocast`` in float16 (activation gradients inside the backward pass are fp16
    too); ``emulated``: every exact parameter gradient cast to fp16 (storage only). Fractions are of the
    reference's nonzero values.
    """
    model = tinylm.load(name).train()
    (x, y), = training_batches(1, batch_size=batch_size, block_size=block_size, seed=seed)
    w = positive("loss_weight", loss_weight)
    rows = []
    for e in log2_scales:
        s = 2.0 ** e * w
        _, ref = mp.precision_grads(model, x, y, precision="fp64", loss_scale=s)
        _, real = mp.precision_grads(model, x, y, precision="fp16", loss_scale=s)
        _, emu = mp.precision_grads(model, x, y, precision="fp16", loss_scale=s, emulate=True)
        c_real, c_emu = mp.count_vanished(real, ref), mp.count_vanished(emu, ref)
        n = c_real["nonzero_reference"]
        rows.append({"log2_scale": e, "nonzero": n,
                     "vanished_real": c_real["vanished"] / n, "vanished_emulated": c_emu["vanished"] / n,
                     "overflow_real": c_real["overflow"] / n, "overflow_emulated": c_emu["overflow"] / n})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ training
def precision_training(configs: Sequence[str] = tuple(TRAINING_CONFIGS), *, steps: int = 50, loss_weight: float = LOSS_WEIGHT,
                       lr: float = 3e-3, batch_size: int = 8, block_size: int = 64, seed: int = 0,
                       init_scale: float = 2.0**16, growth_interval: int = 20) -> pd.DataFrame:
    """Train the student architecture from scratch (same init, same batches) once per config; one row per step.

    Each step: gradients of ``loss_scale * loss_weight * loss`` in the config's precision
    (:func:`lecture_lib.mixed_precision.precision_grads`, real autocast), divided by ``loss_weight`` in fp32; then
    AdamW, or for a scaled config :class:`~lecture_lib.mixed_precision.LossScaler` (unscale, skip on inf/NaN,
    update). Columns: config, step, loss (before the step), scale, skipped, vanished (fraction of values that are
    0 though the fp32 gradient of the same step is not).
    """
    steps = integer("steps", steps)
    w = positive("loss_weight", loss_weight)
    unknown = [c for c in configs if c not in TRAINING_CONFIGS]
    if unknown or not configs:
        raise ValueError(f"configs must be a non-empty list of {list(TRAINING_CONFIGS)}; got {list(configs)!r}")
    cfg = PRESETS["student"][0]
    batches = training_batches(steps, batch_size=batch_size, block_size=block_size, seed=seed + 1)
    rows = []
    for label in configs:
        precision, scaled = TRAINING_CONFIGS[label]
        torch.manual_seed(seed)
        model = tinylm.TinyGPT(cfg).train()
        scaler = mp.LossScaler(init_scale=init_scale, growth_interval=growth_interval) if scaled else None
        for st in mp.train_run(model, batches, precision=precision, scaler=scaler, lr=lr, loss_weight=w):
            rows.append({"config": label, "step": st.step, "loss": st.loss, "scale": st.scale, "skipped": st.skipped,
                         "zero_fraction": st.zero_fraction})
    return pd.DataFrame(rows)


def training_summary(runs: pd.DataFrame, *, last: int = 10) -> pd.DataFrame:
    """Per config: first loss, mean loss over the ``last`` steps, skipped steps, final scale, mean zero fraction."""
    out = []
    for label, g in runs.groupby("config", sort=False):
        out.append({"config": label, "first_loss": float(g["loss"].iloc[0]),
                    f"mean_loss_last_{last}": float(g["loss"].tail(last).mean()),
                    "skipped_steps": int(g["skipped"].sum()), "final_scale": float(g["scale"].iloc[-1]),
                    "mean_zero_grad_fraction": float(g["zero_fraction"].mean())})
    return pd.DataFrame(out)


def precision_step_times(name: str = "student", *, repeats: int = 7, batch_size: int = 8, block_size: int = 64,
                         clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Seconds of one forward + backward + AdamW step under fp32, bf16 and fp16 autocast, interleaved."""
    repeats = integer("repeats", repeats)
    model = tinylm.load(name).train()
    opt = torch.optim.AdamW(model.parameters(), lr=0.0)  # lr 0: identical work every repeat
    (x, y), = training_batches(1, batch_size=batch_size, block_size=block_size, seed=0)
    precisions = ("fp32", "bf16", "fp16")
    out: dict[str, list[float]] = {k: [] for k in precisions}
    for r in range(repeats + 1):
        for key in precisions:
            opt.zero_grad(set_to_none=True)
            t0 = clock()
            if key == "fp32":
                loss = ck.lm_loss(model, x, y)
            else:
                with mp.autocast(key):
                    loss = ck.lm_loss(model, x, y)
            loss.backward()
            opt.step()
            if r > 0:  # the first round is warm-up
                out[key].append(clock() - t0)
    return out


# ------------------------------------------------------------------------------------------------ checkpointing
def checkpoint_memory(name: str = "teacher", *, batch_size: int = 8, block_size: int = 128, seed: int = 0) -> pd.DataFrame:
    """Exact activation memory (bytes autograd saves, by saved-tensor hooks) for k = 0..n segments of ``name``,
    with the memory model's prediction and the recompute cost in block forwards. One row per k."""
    model = tinylm.load(name).train()
    (x, y), = training_batches(1, batch_size=batch_size, block_size=block_size, seed=seed)
    rows = ck.tradeoff_curve(model, x, y, measure_time=False)
    n = len(model.blocks)
    for r in rows:
        r["recomputed_blocks"] = n if r["segments"] else 0
        # forward (1) + backward (~2) + one recomputed forward of the checkpointed blocks
        r["analytic_time_ratio"] = (3 + (1 if r["segments"] else 0)) / 3
    return pd.DataFrame(rows)


def checkpoint_summary(table: pd.DataFrame, segments: int) -> dict[str, Any]:
    """The row of :func:`checkpoint_memory` for ``segments`` (the segments widget's pure function), in MiB."""
    if isinstance(segments, bool) or not isinstance(segments, numbers.Integral):
        raise TypeError(f"segments must be an int; got {type(segments).__name__}")
    sel = table[table["segments"] == segments]
    if sel.empty:
        raise ValueError(f"segments must be one of {table['segments'].tolist()}; got {segments}")
    r = sel.iloc[0]
    mib = 2.0**20
    return {"segments": int(segments), "kept_MiB": r["forward_saved_bytes"] / mib,
            "recompute_MiB": r["recompute_bytes"] / mib, "peak_MiB": r["peak_bytes"] / mib,
            "peak_fraction": float(r["peak_fraction"]), "predicted_peak_MiB": r["predicted_peak_bytes"] / mib,
            "analytic_time_ratio": float(r["analytic_time_ratio"])}


# ------------------------------------------------------------------------------------------------ batching
def decode_calibration(name: str = "teacher", batch_sizes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64), *,
                       context_len: int = 32, repeats: int = 15,
                       clock: Callable[[], float] = time.perf_counter) -> dict[str, Any]:
    """Median seconds of one real decoding step of ``name`` per batch size, and the fitted ``a + b * B``."""
    model = tinylm.load(name)
    step = bt.tinylm_decode_step(model, context_len=context_len)
    times = bt.measure_step_times(step, list(batch_sizes), repeats=repeats, warmup=2, clock=clock)
    a, b = bt.fit_step_cost(list(times), list(times.values()))
    return {"model": name, "context_len": context_len, "batch_sizes": list(times),
            "seconds": list(times.values()), "a": a, "b": b}


def batching_summary(policy: str, max_batch_size: int, arrival_rate: float, *, a: float, b: float,
                     n_requests: int = 600, output_tokens: int | tuple[int, int] = (16, 64), max_wait: float = 0.05,
                     seed: int = 0) -> dict[str, Any]:
    """One simulated run (the batching widget's pure function): throughput, latencies, utilisation, load."""
    res = bt.run_batching(policy, arrival_rate=arrival_rate, n_requests=n_requests, max_batch_size=max_batch_size,
                          a=a, b=b, output_tokens=output_tokens, max_wait=max_wait, seed=seed)
    row = res.summary()
    row["arrival_rate"] = float(arrival_rate)
    row["offered_load"] = arrival_rate * float(res.output_tokens.mean()) / bt.max_throughput(max_batch_size, a, b)
    row["little_L"] = res.little_law()["L"]
    return row


def batching_curves(a: float, b: float, *, policies: Sequence[str] = bt.BATCHING_POLICIES,
                    arrival_rates: Sequence[float] = (5, 10, 20, 40, 60, 80), batch_sizes: Sequence[int] = (1, 4, 16, 64),
                    n_requests: int = 400, max_wait: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """:func:`lecture_lib.batching.sweep` as a DataFrame (same requests for every policy)."""
    return pd.DataFrame(bt.sweep(list(policies), arrival_rates=list(arrival_rates), batch_sizes=list(batch_sizes),
                                 n_requests=n_requests, a=a, b=b, max_wait=max_wait, seed=seed))


def little_law_table(a: float, b: float, *, arrival_rates: Sequence[float] = (10, 30, 60), max_batch_size: int = 16,
                     n_requests: int = 600, seed: int = 0) -> pd.DataFrame:
    """L (the simulator's own time integral) against lambda * W, per policy and arrival rate."""
    rows = []
    for policy in bt.BATCHING_POLICIES:
        for lam in arrival_rates:
            res = bt.run_batching(policy, arrival_rate=lam, n_requests=n_requests, max_batch_size=max_batch_size,
                                  a=a, b=b, max_wait=0.05, seed=seed)
            rows.append({"policy": policy, "arrival_rate": float(lam), **res.little_law()})
    return pd.DataFrame(rows)


def bandwidth_table(weight_bytes: float, bandwidth: float, a: float, b: float,
                    batch_sizes: Sequence[int] = (1, 4, 16, 64)) -> pd.DataFrame:
    """Per batch size: weight bytes per token, the bandwidth lower bound of one step, the cost model's step time,
    and how far above the bound the step runs."""
    rows = []
    for bs in batch_sizes:
        bound = bt.decode_step_lower_bound(weight_bytes, bandwidth, batch_size=bs)
        t = bt.step_time(bs, a, b)
        rows.append({"batch_size": bs, "weight_bytes_per_token": bt.weight_bytes_per_token(weight_bytes, bs),
                     "bound_us": bound * 1e6, "model_step_us": t * 1e6, "step_over_bound": t / bound,
                     "tokens_per_s": bs / t})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ recorded timings
def record_timings(path: Path | str = TIMINGS_PATH, *, repeats: int = 9,
                   clock: Callable[[], float] = time.process_time) -> dict[str, Any]:
    """Measure every timing Part E shows (see the module docstring) and write it as JSON to ``path``.

    The default clock is this process's CPU time (one thread), so other programs sharing the machine do not
    inflate the numbers the way they inflate wall time."""
    torch.set_num_threads(1)
    teacher = tinylm.load("teacher").train()
    (x, y), = training_batches(1, batch_size=8, block_size=128, seed=0)
    curve = ck.tradeoff_curve(teacher, x, y, repeats=repeats, clock=clock)
    data = {
        "what": "seconds of CPU time on one thread: training steps per precision (interleaved, after a warm-up "
                "round), teacher forward+backward per checkpoint segment count (interleaved), teacher decoding "
                "step per batch size (median), tensor copy bandwidth (best of 5)",
        "clock": getattr(clock, "__name__", str(clock)),
        "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "precision_steps": {name: precision_step_times(name, repeats=repeats, clock=clock) for name in ("student", "teacher")},
        "checkpoint_seconds": {str(r["segments"]): r["seconds"] for r in curve},
        "decode": decode_calibration("teacher", clock=clock),
        "copy_bandwidth_bytes_per_s": bt.measure_copy_bandwidth(clock=clock),
        "teacher_weight_bytes": tinylm.param_bytes(tinylm.load("teacher")),
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=1) + "\n")
    return data


def load_timings(path: Path | str = TIMINGS_PATH) -> dict[str, Any]:
    """The recorded timings (see :func:`record_timings`)."""
    data = json.loads(Path(path).read_text())
    need = {"precision_steps", "checkpoint_seconds", "decode", "copy_bandwidth_bytes_per_s", "teacher_weight_bytes"}
    if not isinstance(data, dict) or not need <= set(data):
        raise ValueError(f"{path} is not a timings file written by record_timings (needs keys {sorted(need)})")
    return data


def timing_ratios(data: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Median-based ratios from recorded (or freshly measured) timings: precision steps vs fp32, checkpointing
    vs no checkpointing. Ratios, not seconds: they carry over between machines far better."""
    prec = []
    for name, t in data["precision_steps"].items():
        base = float(np.median(t["fp32"]))
        prec.append({"model": name, **{f"{k}/fp32": float(np.median(v)) / base for k, v in t.items() if k != "fp32"}})
    cks = data["checkpoint_seconds"]
    base = cks["0"]
    ckpt = [{"segments": int(k), "time_ratio": v / base} for k, v in cks.items()]
    return {"precision": pd.DataFrame(prec), "checkpoint": pd.DataFrame(ckpt)}


# ------------------------------------------------------------------------------------------------ lecture checks
def lecture_checks() -> pd.DataFrame:
    """The lecture's Part E claims (lecture §3.E.2) next to the values computed from the formats."""
    f16 = mp.FLOAT_FORMATS["fp16"]
    r = float(mp.round_to_format(1e-6, "fp16"))
    rows = [
        ("§3.E.2", "FP16 max", "32768 (2^15)", f16.max),
        ("§3.E.2", "FP16 min normal", "6e-5 (2^-14)", f16.min_normal),
        ("§3.E.2", "FP16 min subnormal", "(not given)", f16.min_subnormal),
        ("§3.E.2", "1e-6 stored in FP16", "underflow", f"{mp.classify(1e-6, 'fp16')}: {r:.5g} "
                                                    f"({mp.rounding_error(1e-6, 'fp16'):.1%} error)"),
        ("§3.E.2", "largest value that rounds to 0", "(not given)", f16.min_subnormal / 2),
        ("§3.E.2", "1e-6 x 1024 in FP16", "normal", mp.classify(1e-6 * 1024, "fp16")),
        ("§3.E.2", "largest gradient before overflow at s = 1024", "(not given)", f16.max / 1024),
        ("§3.E.2", "checkpointing time (bwd = 2 fwd)", "+30 %", f"+{(4 / 3 - 1):.0%}"),
    ]
    return pd.DataFrame(rows, columns=["lecture §", "quantity", "lecture", "computed"])


if __name__ == "__main__":  # pragma: no cover - a measurement script
    out = record_timings()
    print(json.dumps({k: v for k, v in out.items() if k in ("decode", "copy_bandwidth_bytes_per_s")}, indent=1))
    print(timing_ratios(out))
