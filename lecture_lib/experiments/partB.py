"""Part B measurements: distilled vs from-scratch students, speculative decoding of the tiny LM, and the small
pure functions behind the notebook's widgets and "Lecture check" cells.

Used by ``notebooks/partB_distillation_speculative.ipynb`` and ``tests/test_partB_experiments.py``. Every
function returns data (dicts, DataFrames, arrays); nothing here plots or prints (except the command line).

Recorded data (``data/``), written once by the command line so that the notebook runs in seconds and its stored
outputs do not depend on the speed of the machine that re-executes it:

* ``python -m lecture_lib.experiments.partB --distill`` trains, with one fixed budget (same architecture as the
  shipped student, same steps, batch, learning-rate schedule and seed), a student **from scratch** (alpha = 0,
  plain next-character cross-entropy) and students **distilled** from the teacher (alpha = 0.5) at several
  temperatures T. It writes ``partB_distill.json`` (validation perplexities, loss curves, the config) and ships
  two checkpoints, ``partB_student_scratch.safetensors`` and ``partB_student_distilled.safetensors`` (the best T).
  The teacher's logits for a batch are computed once and reused by every T (:class:`MemoTeacher`): every run
  draws the same batches because they share the seed, so the sweep costs one teacher pass.
* ``python -m lecture_lib.experiments.partB --speculative`` decodes with the teacher as target, plain and
  speculative (drafts :data:`DRAFT_NAMES`: the shipped student, the teacher itself with INT4 weights and a 4-bit
  KV cache, prompt lookup alone, prompt lookup then the student), side by side in one run, for k = 1..8 and
  temperatures 0, 0.7, 1.0, and writes ``partB_speculative.json``: acceptance rates and tokens per target call
  (deterministic for a seed), the cost model (draft cost c, verify cost v_k) and the wall-clock times of this
  one machine (recorded data, not re-measured by the notebook).
"""

from __future__ import annotations

import argparse
import json
import copy
import math
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from lecture_lib.tinylm.train import sample_batch
from lecture_lib import batching, distill, kvcache, speculative, tinylm

__all__ = [
    "DATA_DIR",
    "DISTILL_CONFIG",
    "DISTILL_PATH",
    "LARGE_VOCAB",
    "SPEC_CONFIG",
    "SPEC_PATH",
    "MemoTeacher",
    "acceptance_view",
    "acceptance_vs_temperature",
    "acceptance_histogram",
    "alpha_from_histogram",
    "boss_battle",
    "distill_table",
    "draft_cost",
    "jensen_acceptance",
    "lecture_softmax_check",
    "load_distill_results",
    "load_spec_results",
    "load_trained_student",
    "next_char_logits",
    "reevaluate_students",
    "run_distillation",
    "run_speculative",
    "spec_prompts",
    "spec_stats_table",
    "speculative_records",
    "DRAFT_NAMES",
    "forward_seconds",
    "verify_cost",
    "predicted_speedup",
    "speedup_table",
    "t_squared_table",
    "temperature_view",
    "verify_exactness",
    "WHY_CONFIG",
    "WHY_PATH",
    "WHY_VARIANTS",
    "why_distill",
    "load_why_distill",
    "why_distill_table",
    "target_view",
    "decode_cost_table",
    "decode_step_times",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
DISTILL_PATH = DATA_DIR / "partB_distill.json"
SPEC_PATH = DATA_DIR / "partB_speculative.json"
STUDENT_PATHS = {"scratch": DATA_DIR / "partB_student_scratch.safetensors",
                 "distilled": DATA_DIR / "partB_student_distilled.safetensors"}

#: The one training budget shared by every student of the distillation experiment.
DISTILL_CONFIG: dict[str, Any] = {"steps": 300, "batch_size": 16, "lr": 3e-3, "seed": 0, "alpha": 0.5,
                                  "temperatures": [1.0, 2.0, 4.0, 8.0], "extra": [{"T": 1.0, "alpha": 1.0}]}
#: The speculative-decoding grid recorded by ``--speculative``.
SPEC_CONFIG: dict[str, Any] = {"ks": [1, 2, 3, 4, 5, 6, 7, 8], "temperatures": [0.0, 0.7, 1.0],
                               "drafts": ["student", "int4-self", "lookup", "student+lookup"], "n_prompts": 2,
                               "prompt_chars": 48, "new_tokens": 160, "repeats": 3}

#: The drafts of the recorded grid: a draft model (or None) and the prompt-lookup setting passed to
#: ``speculative.speculative_generate(..., lookup=...)``.
DRAFT_NAMES = ("student", "int4-self", "lookup", "student+lookup")

#: One more draft for ``benchmarks/bench_speculative.py`` (not in the recorded grid): the student after prompt lookup
#: with an adaptive draft length, ``speculative_decode(..., stop_below=ADAPTIVE_STOP)``.
ADAPTIVE_DRAFT = "student+lookup+stop"
ADAPTIVE_STOP = 0.5


# ============================================================================== widgets and lecture checks
def next_char_logits(model: torch.nn.Module, context: str) -> torch.Tensor:
    """The model's logits for the character after ``context`` (float32 vector of the vocabulary size)."""
    ids = torch.tensor([tinylm.encode(context)[-model.config.block_size:]], dtype=torch.long)
    with torch.no_grad():
        return model(ids)[0, -1].float()


def temperature_view(teacher_logits, student_logits, T: float, *, top: int = 8) -> dict[str, Any]:
    """What the temperature slider shows at one T (pure; fast).

    Returns the teacher's and student's soft targets p(T) on the teacher's ``top`` most likely tokens
    (``ids``, ``p_teacher``, ``p_student``), KL(p_teacher(T) || p_student(T)), the entropy of p_teacher(T)
    in nats, and the gradient norm of the soft term w.r.t. the student logits with and without the T² factor:
    ``|T (p_S - p_T)|`` and ``|(p_S - p_T) / T|`` (``lecture_lib.distill.soft_target_gradient``).
    """
    zt = torch.as_tensor(teacher_logits, dtype=torch.float64).reshape(1, -1)
    zs = torch.as_tensor(student_logits, dtype=torch.float64).reshape(1, -1)
    pt = distill.softmax_t(zt, T)[0]
    ps = distill.softmax_t(zs, T)[0]
    ids = torch.argsort(-distill.softmax_t(zt, 1.0)[0])[:top]
    g_with = distill.soft_target_gradient(zs, zt, T=T, t_squared=True)
    g_without = distill.soft_target_gradient(zs, zt, T=T, t_squared=False)
    return {
        "T": float(T),
        "ids": ids.tolist(),
        "p_teacher": pt[ids].numpy(),
        "p_student": ps[ids].numpy(),
        "kl": float(distill.kl_divergence(zt, zs, T)[0]),
        "entropy_teacher": float(-(pt * pt.clamp_min(1e-300).log()).sum()),
        "grad_with_T2": float(g_with.norm()),
        "grad_without_T2": float(g_without.norm()),
    }


def t_squared_table(teacher_logits, student_logits, temperatures: Sequence[float] = (1, 2, 5, 10, 100)) -> pd.DataFrame:
    """Gradient norms of the soft term with and without T² over several T, checked against autograd."""
    zt = torch.as_tensor(teacher_logits, dtype=torch.float64).reshape(1, -1)
    rows = []
    for T in temperatures:
        zs = torch.as_tensor(student_logits, dtype=torch.float64).reshape(1, -1).clone().requires_grad_(True)
        loss = distill.distillation_loss(zs, zt, T=float(T))  # labels=None: T² KL alone
        (g_auto,) = torch.autograd.grad(loss, zs)
        g_formula = distill.soft_target_gradient(zs.detach(), zt, T=float(T), t_squared=True)
        rows.append({"T": T, "|grad| with T²": float(g_auto.norm()), "|grad| without T²": float(g_auto.norm()) / T**2,
                     "autograd == T(p_S - p_T)": bool(torch.allclose(g_auto, g_formula, atol=1e-12)),
                     "ratio without / with": 1.0 / T**2})
    return pd.DataFrame(rows)


def acceptance_view(alpha: float, k: int, c: float, *, n_steps: int = 20_000, seed: int = 0) -> dict[str, float]:
    """What the alpha/k slider shows: the formulas and a Monte-Carlo of the i.i.d. acceptance model.

    ``tokens_formula`` = (1 - alpha^(k+1)) / (1 - alpha); ``tokens_simulated`` = mean of n_steps simulated steps
    (:func:`lecture_lib.speculative.simulate_tokens_per_step`); ``speedup_formula`` = tokens / (k c + 1) and
    ``speedup_simulated`` the same with the simulated mean; ``limit_k_inf`` = 1 / (1 - alpha) (the lecture's
    k -> infinity number, plus the one token a step always emits).
    """
    sim = speculative.simulate_tokens_per_step(alpha, k, n_steps, seed=seed)
    tokens = speculative.expected_tokens_per_step(alpha, k)
    mean = float(sim.mean())
    return {"alpha": float(alpha), "k": int(k), "c": float(c), "tokens_formula": tokens, "tokens_simulated": mean,
            "tokens_sem": float(sim.std(ddof=1) / math.sqrt(n_steps)),
            "speedup_formula": speculative.expected_speedup(alpha, k, c), "speedup_simulated": mean / (k * c + 1),
            "limit_k_inf": math.inf if alpha == 1 else 1.0 / (1.0 - alpha)}


def lecture_softmax_check() -> pd.DataFrame:
    """The lecture's dark-knowledge example (logits [5.0, 3.5, 0.2]) at T = 1 and T = 5, printed vs computed."""
    printed = {1.0: [0.82, 0.16, 0.02], 5.0: [0.49, 0.39, 0.12]}
    rows = []
    for T, lect in printed.items():
        p = distill.softmax_t(torch.tensor([5.0, 3.5, 0.2], dtype=torch.float64), T).tolist()
        rows.append({"T": T, "lecture": lect, "computed": [round(x, 4) for x in p],
                     "max |difference|": round(max(abs(a - b) for a, b in zip(lect, p)), 4)})
    return pd.DataFrame(rows)


def speedup_table(alphas: Sequence[float] = (0.6, 0.8, 0.9), k: int = 4, c: float = 0.05) -> pd.DataFrame:
    """The lecture's per-alpha numbers (k -> infinity, free draft) vs Leviathan's formulas at a finite k and c."""
    lecture = {0.6: (1.5, 2.5), 0.8: (4.0, 5.0), 0.9: (9.0, 10.0)}
    rows = []
    for a in alphas:
        lt, ls = lecture.get(a, (float("nan"), float("nan")))
        rows.append({"alpha": a, "lecture E[accepted]": lt, f"E[accepted], k={k}": speculative.expected_accepted_tokens(a, k),
                     "limit k->inf": a / (1 - a), "lecture speedup": ls,
                     f"tokens/step, k={k}": speculative.expected_tokens_per_step(a, k),
                     f"speedup, k={k}, c={c}": speculative.expected_speedup(a, k, c)})
    return pd.DataFrame(rows)


def verify_exactness(p, q, k: int, *, n: int = 200_000, seed: int = 0, residual: str = "residual") -> dict[str, Any]:
    """Empirical distribution of the FIRST token emitted by n verify steps (draft tokens drawn from q, the same
    q and p at every position), with the chi-square p-value and total variation against p.

    ``residual="residual"`` uses :func:`lecture_lib.speculative.verify_batch` (exact); ``"draft"`` is the
    negative control: on rejection it resamples from q instead of the residual max(0, p - q) (wrong).
    """
    from scipy import stats as sps

    p = torch.as_tensor(p, dtype=torch.float64)
    q = torch.as_tensor(q, dtype=torch.float64)
    V = p.numel()
    g = torch.Generator().manual_seed(seed)
    drafts = torch.multinomial(q.expand(n, V), k, replacement=True, generator=g)  # [n, k], each from q
    if residual == "residual":
        n_acc, nxt = speculative.verify_batch(drafts, q.expand(k, V), p.expand(k + 1, V), generator=g)
    elif residual == "draft":
        u = torch.rand((n, k), generator=g, dtype=torch.float64)
        acc = (u * q[drafts] < p[drafts]).long().cumprod(1).sum(1)
        nxt = torch.multinomial(q.expand(n, V), 1, generator=g)[:, 0]
        n_acc = acc
    else:
        raise ValueError(f"residual must be 'residual' or 'draft'; got {residual!r}")
    first = torch.where(n_acc > 0, drafts[:, 0], nxt)
    counts = torch.bincount(first, minlength=V).double().numpy()
    expected = p.numpy() * n
    mask = expected > 0
    chi2 = float((((counts - expected) ** 2)[mask] / expected[mask]).sum())
    pval = float(sps.chi2.sf(chi2, int(mask.sum()) - 1))
    return {"empirical": counts / n, "target": p.numpy(), "chi2": chi2, "p_value": pval,
            "tv": 0.5 * float(np.abs(counts / n - p.numpy()).sum()),
            "acceptance": float((n_acc > 0).double().mean()),
            "acceptance_formula": float(torch.minimum(p, q).sum())}


#: A LLaMA-sized vocabulary for the boss battle's noisy-draft simulation.
LARGE_VOCAB = 32_000


def boss_battle(*, n: int = 1_000_000, seed: int = 0) -> pd.DataFrame:
    """The lecture's QuantSpec boss battle (logits ~ N(0, 2), INT4 noise ~ N(0, 0.1), read as variances):
    the lecture's numbers beside closed forms and Monte-Carlo.

    Two classes: the top-1 flips when sign(dz) != sign(dz + de), dz ~ N(0, 4), de ~ N(0, 0.2); averaging over dz
    gives arctan(sigma_e / sigma_z) / pi (the lecture fixed |dz| at one sigma: Q(4.47)). The acceptances
    E[sum min(p, q)] and greedy agreements come from :func:`lecture_lib.speculative.simulate_noisy_draft` for
    2 classes, for the tiny LM's 105-character vocabulary and for a 32 000-token vocabulary (LARGE_VOCAB, 4 000
    draws: greedy agreement about 0.56, standard error 0.008)."""
    from scipy import stats as sps

    rng = np.random.default_rng(seed)
    dz = rng.normal(0.0, 2.0, n)
    de = rng.normal(0.0, math.sqrt(0.2), n)
    flip = float(np.mean(np.sign(dz) != np.sign(dz + de)))
    two = speculative.simulate_noisy_draft(2, n=50_000, seed=seed, chunk=4096)
    voc = speculative.simulate_noisy_draft(tinylm.VOCAB_SIZE, n=20_000, seed=seed, chunk=2048)
    big = speculative.simulate_noisy_draft(LARGE_VOCAB, n=4_000, seed=seed, chunk=256)
    nan = float("nan")
    return pd.DataFrame([
        {"quantity": "P(top-1 flips), 2 classes", "lecture": 4e-6, "closed form": math.atan(math.sqrt(0.2) / 2) / math.pi,
         "simulated": flip},
        {"quantity": "Q(4.47): |dz| fixed at 1 sigma", "lecture": 4e-6, "closed form": float(sps.norm.sf(4.47)),
         "simulated": nan},
        {"quantity": "greedy agreement, 2 classes", "lecture": 0.999996, "closed form": 1 - math.atan(math.sqrt(0.2) / 2) / math.pi,
         "simulated": two["greedy_agreement"]},
        {"quantity": "E[sum min(p, q)], 2 classes", "lecture": 0.999, "closed form": nan, "simulated": two["acceptance"]},
        {"quantity": f"greedy agreement, {tinylm.VOCAB_SIZE} classes", "lecture": 0.999, "closed form": nan,
         "simulated": voc["greedy_agreement"]},
        {"quantity": f"E[sum min(p, q)], {tinylm.VOCAB_SIZE} classes", "lecture": 0.999, "closed form": nan,
         "simulated": voc["acceptance"]},
        {"quantity": f"greedy agreement, {LARGE_VOCAB} classes", "lecture": 0.999, "closed form": nan,
         "simulated": big["greedy_agreement"]},
        {"quantity": f"E[sum min(p, q)], {LARGE_VOCAB} classes", "lecture": 0.999, "closed form": nan,
         "simulated": big["acceptance"]},
    ])


def jensen_acceptance(var: float = 0.1, *, n: int = 400_000, seed: int = 0) -> dict[str, float]:
    """E[min(1, e^eps)] for eps ~ N(0, var) (closed form and Monte-Carlo) vs the lecture's min(1, E[e^eps])."""
    from scipy import stats as sps

    s = math.sqrt(var)
    # E[min(1, e^eps)] = P(eps > 0) + E[e^eps; eps < 0] = 1/2 + exp(s²/2) Phi(-s)
    closed = 0.5 + math.exp(var / 2) * float(sps.norm.cdf(-s))
    eps = np.random.default_rng(seed).normal(0.0, s, n)
    return {"lecture": min(1.0, math.exp(0.1**2 / 2)), "min(1, E[e^eps])": min(1.0, math.exp(var / 2)),
            "E[min(1, e^eps)] closed form": closed, "E[min(1, e^eps)] simulated": float(np.minimum(1, np.exp(eps)).mean())}


# ============================================================================== distillation experiment
class MemoTeacher(torch.nn.Module):
    """A teacher that remembers its logits per input batch, so several students trained on the same batches
    (same seed) share one teacher forward per step. Exact: the stored logits are the teacher's float32 output."""

    def __init__(self, teacher: torch.nn.Module) -> None:
        super().__init__()
        self.teacher = teacher
        self.config = teacher.config
        self.name = getattr(teacher, "name", "teacher")
        self._memo: dict[bytes, torch.Tensor] = {}
        self.calls = 0

    def forward(self, idx: torch.Tensor, cache=None) -> torch.Tensor:  # noqa: D401 - model protocol
        key = idx.numpy().tobytes() + str(tuple(idx.shape)).encode()
        if key not in self._memo:
            self.calls += 1
            with torch.no_grad():
                self._memo[key] = self.teacher(idx)
        return self._memo[key]


def run_distillation(config: dict[str, Any] | None = None, *, out_dir: Path | None = None, progress=None) -> dict[str, Any]:
    """Train the scratch and distilled students with one budget, evaluate, ship checkpoints and the JSON."""
    cfg = dict(DISTILL_CONFIG if config is None else config)
    out_dir = DATA_DIR if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    teacher = tinylm.load("teacher")
    student_cfg = tinylm.load("student").config
    memo = MemoTeacher(teacher)
    common = {"steps": cfg["steps"], "batch_size": cfg["batch_size"], "lr": cfg["lr"], "seed": cfg["seed"],
              "log_every": 10, "progress": progress}
    t0 = time.perf_counter()
    scratch, scratch_log = distill.train_student(None, student_cfg, alpha=0.0, **common)
    runs = [{"kind": "scratch", "T": None, "alpha": 0.0, "model": scratch, "log": scratch_log}]
    for T in cfg["temperatures"]:
        model, log = distill.train_student(memo, student_cfg, T=float(T), alpha=cfg["alpha"], **common)
        runs.append({"kind": "distilled", "T": float(T), "alpha": cfg["alpha"], "model": model, "log": log})
    for extra in cfg.get("extra", []):  # other (T, alpha) points on the same batches
        model, log = distill.train_student(memo, student_cfg, T=float(extra["T"]), alpha=float(extra["alpha"]), **common)
        runs.append({"kind": "distilled", "T": float(extra["T"]), "alpha": float(extra["alpha"]), "model": model, "log": log})
    train_seconds = time.perf_counter() - t0
    for r in runs:
        r["val_ppl"] = tinylm.perplexity(r["model"])
    best = min((r for r in runs if r["kind"] == "distilled"), key=lambda r: r["val_ppl"])
    tinylm.save_checkpoint(scratch, out_dir / STUDENT_PATHS["scratch"].name)
    tinylm.save_checkpoint(best["model"], out_dir / STUDENT_PATHS["distilled"].name)
    result = {
        "command": "python -m lecture_lib.experiments.partB --distill",
        "config": {**{k: v for k, v in cfg.items()}, "student": json.loads(student_cfg.to_json()),
                   "num_params": tinylm.num_params(scratch), "tokens_seen": cfg["steps"] * cfg["batch_size"] * student_cfg.block_size},
        "teacher_val_ppl": tinylm.perplexity(teacher),
        "shipped_student_val_ppl": tinylm.perplexity(tinylm.load("student")),
        "shipped_student_steps": 2000,
        "runs": [{"kind": r["kind"], "T": r["T"], "alpha": r["alpha"], "val_ppl": r["val_ppl"],
                  "final_train_ce": r["log"].hard[-1], "log": r["log"].as_records()} for r in runs],
        "checkpoints": {"scratch": {"file": STUDENT_PATHS["scratch"].name, "val_ppl": scratch_lookup(runs)},
                        "distilled": {"file": STUDENT_PATHS["distilled"].name, "T": best["T"], "alpha": best["alpha"],
                                      "val_ppl": best["val_ppl"]}},
        "teacher_forward_passes": memo.calls,
        "machine": {"train_wall_seconds": round(train_seconds, 1), "torch": torch.__version__,
                    "python": platform.python_version(), "threads": torch.get_num_threads()},
    }
    (out_dir / DISTILL_PATH.name).write_text(json.dumps(_clean(result), indent=1) + "\n")
    return result


def scratch_lookup(runs: list[dict[str, Any]]) -> float:
    return next(r["val_ppl"] for r in runs if r["kind"] == "scratch")


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        return None if math.isnan(x) else x
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def load_distill_results(path: Path | str = DISTILL_PATH) -> dict[str, Any]:
    """The recorded distillation experiment (``--distill``)."""
    return json.loads(Path(path).read_text())


def load_trained_student(kind: str) -> torch.nn.Module:
    """A shipped student of the experiment: ``"scratch"`` or ``"distilled"`` (eval mode)."""
    if kind not in STUDENT_PATHS:
        raise ValueError(f"kind must be one of {sorted(STUDENT_PATHS)}; got {kind!r}")
    return tinylm.load_checkpoint(STUDENT_PATHS[kind], name=f"student-{kind}")


def reevaluate_students() -> dict[str, float]:
    """Validation perplexity of the two shipped experiment checkpoints, computed now."""
    return {kind: tinylm.perplexity(load_trained_student(kind)) for kind in STUDENT_PATHS}


def distill_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per trained student: kind, T, alpha, validation perplexity, and the gap to the scratch baseline."""
    base = next(r["val_ppl"] for r in results["runs"] if r["kind"] == "scratch")
    rows = [{"student": r["kind"], "T": r["T"] if r["T"] is not None else "-", "alpha": r["alpha"],
             "val perplexity": round(r["val_ppl"], 3), "vs scratch": f"{100 * (r['val_ppl'] / base - 1):+.1f} %"}
            for r in results["runs"]]
    return pd.DataFrame(rows)


# ============================================================================== speculative decoding
def spec_prompts(n: int = 2, chars: int = 48) -> list[str]:
    """``n`` prompts of ``chars`` characters from evenly spaced places of the validation text."""
    val = tinylm.validation_text()
    step = len(val) // (n + 1)
    return [val[(i + 1) * step:(i + 1) * step + chars] for i in range(n)]


def make_draft(name: str, teacher: torch.nn.Module, student: torch.nn.Module | None = None) -> tuple:
    """(draft model or None, lookup) for one of :data:`DRAFT_NAMES`; ``(student, True, ADAPTIVE_STOP)`` for
    :data:`ADAPTIVE_DRAFT` (the third item is ``stop_below``)."""
    if name == ADAPTIVE_DRAFT:
        return (tinylm.load("student") if student is None else student), True, ADAPTIVE_STOP
    if name in ("student", "student+lookup"):
        return (tinylm.load("student") if student is None else student), name == "student+lookup"
    if name == "int4-self":
        return speculative.quantspec_draft(teacher, weight_bits=4, group_size=32, kv_format="int4"), False
    if name == "lookup":
        return None, True
    raise ValueError(f"draft must be one of {DRAFT_NAMES + (ADAPTIVE_DRAFT,)}; got {name!r}")


def _draft_and_lookup(d: Any) -> tuple[Any, bool, float | None]:
    """(model or None, lookup, stop_below) from a model or a :func:`make_draft` tuple."""
    if not isinstance(d, tuple):
        return d, False, None
    return (d[0], d[1], d[2] if len(d) > 2 else None)


def speculative_records(teacher, drafts: dict[str, Any], *, ks: Sequence[int], temperatures: Sequence[float],
                        prompts: Sequence[str], new_tokens: int, timed: bool = False,
                        repeats: int = 1) -> list[dict[str, Any]]:
    """Decode every prompt plainly and speculatively for each (draft, k, temperature); one record each.

    ``drafts``: name -> a draft model, or a ``(model or None, lookup[, stop_below])`` tuple (:func:`make_draft`).
    Deterministic fields: accepted_fraction (accepted / proposed over all prompts, as ``stats["accepted_fraction"]``),
    alpha (per examined token, :func:`alpha_from_histogram`), tokens_per_target_call (all steps), tokens_per_full_step
    (steps with the full k drafts, the quantity the formula describes), formula_tokens = (1 - alpha^(k+1)) / (1 - alpha),
    accepted_histogram (summed over prompts), draft_calls_per_proposed (model calls per drafted token: 1 for a model
    draft, 0 for lookup alone, in between for lookup + model), same_as_plain (text equality at T = 0).
    With ``timed=True`` also ``plain_seconds`` and ``spec_seconds``: the best of ``repeats`` passes over all prompts
    (plain and speculative runs alternate, so a change in machine load hits both), and ``plain_cpu_seconds`` /
    ``spec_cpu_seconds``, the same runs in this process's CPU time (one thread: the wall time of an idle machine,
    without the time other processes took); without it, plain decoding runs only at T = 0 (for the equality check).
    """
    rows = []
    for T in temperatures:
        for dname, d in drafts.items():
            model, lookup, stop_below = _draft_and_lookup(d)
            for k in ks:
                best_plain = best_spec = best_plain_cpu = best_spec_cpu = math.inf
                for _ in range(repeats if timed else 1):
                    plain_s = spec_s = plain_c = spec_c = 0.0
                    stats, same = [], True
                    for i, p in enumerate(prompts):
                        t0, c0 = time.perf_counter(), time.process_time()
                        # the plain run is needed for the timing and for the T = 0 equality check only
                        ref = tinylm.generate(teacher, p, new_tokens, temperature=T, seed=i) if (timed or T == 0) else None
                        t1, c1 = time.perf_counter(), time.process_time()
                        text, st = speculative.speculative_generate(teacher, model, p, new_tokens, k=k, temperature=T,
                                                                    seed=i, lookup=lookup, stop_below=stop_below)
                        t2, c2 = time.perf_counter(), time.process_time()
                        plain_s += t1 - t0
                        spec_s += t2 - t1
                        plain_c += c1 - c0
                        spec_c += c2 - c1
                        stats.append(st)
                        same = same and text == ref
                    best_plain, best_spec = min(best_plain, plain_s), min(best_spec, spec_s)
                    best_plain_cpu, best_spec_cpu = min(best_plain_cpu, plain_c), min(best_spec_cpu, spec_c)
                prop = sum(s["proposed"] for s in stats)
                acc = sum(s["accepted"] for s in stats) / prop if prop else float("nan")
                calls = sum(s["target_calls"] for s in stats)
                hist = np.sum([s["accepted_histogram"] for s in stats], axis=0)
                alpha = alpha_from_histogram(hist)
                rec = {"draft": dname, "T": float(T), "k": int(k), "accepted_fraction": acc, "alpha": alpha,
                       "tokens_per_target_call": new_tokens * len(prompts) / calls,
                       "tokens_per_full_step": float(np.dot(np.arange(1, k + 2), hist) / hist.sum()),
                       "formula_tokens": speculative.expected_tokens_per_step(alpha, k),
                       "accepted_histogram": hist.astype(int).tolist(),
                       "draft_calls_per_proposed": sum(s["draft_calls"] for s in stats) / prop if prop else 0.0,
                       "same_as_plain": bool(same) if T == 0 else None}
                if timed:
                    rec.update({"plain_seconds": best_plain, "spec_seconds": best_spec,
                                "plain_cpu_seconds": best_plain_cpu, "spec_cpu_seconds": best_spec_cpu})
                rows.append(rec)
    return rows


def alpha_from_histogram(hist) -> float:
    """Per-token acceptance alpha of the i.i.d. model, estimated from the accepted-prefix histogram of full-length
    steps (hist[j] = steps that accepted j of k draft tokens): the maximum-likelihood estimate
    alpha = (tokens accepted) / (tokens accepted + rejections), since a step that stops at j < k saw j acceptances
    and one rejection, and a step with j = k saw k acceptances. It is ``stats["acceptance_rate"]`` of
    :func:`speculative.speculative_generate` restricted to full-length steps; ``accepted_fraction`` = accepted / proposed
    is a different number: it also counts the drafted tokens after a rejection, which were never examined."""
    hist = np.asarray(hist, dtype=float)
    k = hist.size - 1
    accepted = float(np.dot(np.arange(k + 1), hist))
    rejections = float(hist[:k].sum())
    return accepted / (accepted + rejections) if accepted + rejections > 0 else float("nan")


def forward_seconds(model, *, new: int = 1, context: int = 64, steps: int = 40, clock=time.perf_counter) -> float:
    """Mean seconds of one cached forward call of ``new`` tokens after ``context`` cached positions (the cache is
    rolled back after each call, so every call sees the same context). ``clock``: wall time by default;
    ``time.process_time`` gives this process's CPU time, which other processes on a busy machine inflate less."""
    with torch.no_grad():
        cache = model.new_cache(1)
        model(torch.zeros((1, context), dtype=torch.long), cache=cache)
        x = torch.zeros((1, new), dtype=torch.long)
        model(x, cache=cache)  # warm-up
        cache.truncate(context)
        t0 = clock()
        for _ in range(steps):
            model(x, cache=cache)
            cache.truncate(context)
        return (clock() - t0) / steps


def draft_cost(model, target, *, context: int = 64, steps: int = 40, repeats: int = 7, clock=time.perf_counter) -> float:
    """Measured c: one cached 1-token forward of ``model`` over the same for ``target`` (median of ``repeats``
    ratios; the two are timed back to back in each repeat so that a busy machine slows both alike)."""
    return statistics.median(forward_seconds(model, context=context, steps=steps, clock=clock)
                             / forward_seconds(target, context=context, steps=steps, clock=clock) for _ in range(repeats))


def verify_cost(target, k: int, *, context: int = 64, steps: int = 40, repeats: int = 7, clock=time.perf_counter) -> float:
    """Measured v_k: one cached forward of k + 1 tokens (a verify call) over one of a single token (median of
    ``repeats`` back-to-back ratios). The cost model of a step is then k c + v_k target calls."""
    return statistics.median(forward_seconds(target, new=k + 1, context=context, steps=steps, clock=clock)
                             / forward_seconds(target, context=context, steps=steps, clock=clock) for _ in range(repeats))


def predicted_speedup(alpha: float, k: int, c: float, v: float = 1.0) -> float:
    """Tokens per call over the cost of a step in 1-token target calls: (1 - a^(k+1)) / ((1 - a)(k c + v)).
    v = 1 is Leviathan's S(alpha, k, c); the measured v_k > 1 charges the verify call's extra positions."""
    return speculative.expected_tokens_per_step(alpha, k) / (k * c + v)


def run_speculative(config: dict[str, Any] | None = None, *, out_path: Path | None = None) -> dict[str, Any]:
    """The recorded speculative-decoding grid (``--speculative``), written to ``partB_speculative.json``.

    Besides the records: ``draft_cost_c`` (per model draft; lookup costs 0), ``verify_cost`` (v_k per k), and per
    record ``speedup`` (best plain time / best speculative time), ``draft_cost_c`` (c times the model calls per
    drafted token, so lookup-only drafts cost 0), ``predicted_speedup`` (S(alpha, k, c)) and
    ``predicted_speedup_verify`` (the same with the measured verify cost v_k)."""
    cfg = dict(SPEC_CONFIG if config is None else config)
    teacher = tinylm.load("teacher")
    student = tinylm.load("student")
    drafts = {name: make_draft(name, teacher, student) for name in cfg["drafts"]}
    prompts = spec_prompts(cfg["n_prompts"], cfg["prompt_chars"])
    models = {name: d[0] for name, d in drafts.items() if d[0] is not None and not d[1]}
    cpu = time.process_time  # the cost model in CPU time (one thread): other processes inflate it less than wall clock
    costs = {name: draft_cost(m, teacher, clock=cpu) for name, m in models.items()}
    v = {k: verify_cost(teacher, k, clock=cpu) for k in cfg["ks"]}
    rows = speculative_records(teacher, drafts, ks=cfg["ks"], temperatures=cfg["temperatures"], prompts=prompts,
                               new_tokens=cfg["new_tokens"], timed=True, repeats=cfg.get("repeats", 1))
    for r in rows:
        base = r["draft"].replace("+lookup", "")
        c = costs.get(base, 0.0) * r["draft_calls_per_proposed"]
        r["speedup"] = r["plain_seconds"] / r["spec_seconds"]
        r["speedup_cpu"] = r["plain_cpu_seconds"] / r["spec_cpu_seconds"]
        r["draft_cost_c"] = c
        r["predicted_speedup"] = predicted_speedup(r["alpha"], r["k"], c)
        r["predicted_speedup_verify"] = predicted_speedup(r["alpha"], r["k"], c, v[r["k"]])
    result = {"command": "python -m lecture_lib.experiments.partB --speculative", "config": cfg, "prompts": prompts,
              "draft_cost_c": {**costs, "lookup": 0.0}, "verify_cost": {str(k): x for k, x in v.items()},
              "records": rows,
              "machine": {"torch": torch.__version__, "python": platform.python_version(),
                          "threads": torch.get_num_threads(), "processor": platform.machine(),
                          "cpu_capability": torch.backends.cpu.get_cpu_capability()}}
    path = SPEC_PATH if out_path is None else Path(out_path)
    path.write_text(json.dumps(_clean(result), indent=1) + "\n")
    return result


def load_spec_results(path: Path | str = SPEC_PATH) -> dict[str, Any]:
    """The recorded speculative-decoding grid (``--speculative``)."""
    return json.loads(Path(path).read_text())


def spec_stats_table(records: Sequence[dict[str, Any]], *, timings: bool = False) -> pd.DataFrame:
    """Records as a rounded DataFrame (timing columns only with ``timings=True``)."""
    df = pd.DataFrame(list(records))
    cols = ["draft", "T", "k", "accepted_fraction", "alpha", "tokens_per_target_call", "tokens_per_full_step", "formula_tokens"]
    if timings:
        cols += ["speedup", "predicted_speedup", "predicted_speedup_verify"]
    out = df[cols].copy()
    for c in cols[3:]:
        out[c] = out[c].astype(float).round(3 if c in ("accepted_fraction", "alpha") else 2)
    return out


def acceptance_vs_temperature(target, drafts: dict[str, Any], temperatures: Sequence[float], *, n_windows: int = 4,
                              window: int = 128, seed: int = 0) -> pd.DataFrame:
    """Per-position acceptance of each draft against the target, averaged over ``n_windows`` windows of the
    validation text: alpha(T) = E[sum_x min(p_T(x), q_T(x))] with both softmaxes at temperature T, and the greedy
    agreement P(argmax p = argmax q) (the acceptance at T = 0). One cached forward per model and window, so a
    draft with a quantized KV cache (``QuantSpecDraft``) reads its keys and values back from that cache."""
    val = torch.tensor(tinylm.encode(tinylm.validation_text()), dtype=torch.long)
    starts = np.random.default_rng(seed).integers(0, val.numel() - window, n_windows)
    idx = torch.stack([val[s:s + window] for s in starts])

    def logits(m) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([m(idx[i:i + 1], cache=m.new_cache(1))[0] for i in range(n_windows)]).double()

    zp = logits(target)
    rows = []
    for name, d in drafts.items():
        zq = logits(d)
        row = {"draft": name, "greedy agreement (T=0)": float((zp.argmax(-1) == zq.argmax(-1)).double().mean())}
        for T in temperatures:
            row[f"alpha at T={T:g}"] = float(torch.minimum(torch.softmax(zp / T, -1), torch.softmax(zq / T, -1)).sum(-1).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def acceptance_histogram(stats: dict[str, Any]) -> pd.DataFrame:
    """Steps that accepted j = 0..k draft tokens (full-length steps only) vs the i.i.d. model's truncated
    geometric law P(j) = alpha^j (1 - alpha) for j < k, alpha^k for j = k, with alpha fitted by
    :func:`alpha_from_histogram`."""
    hist = np.asarray(stats["accepted_histogram"], dtype=float)
    k = len(hist) - 1
    n = hist.sum()
    a = alpha_from_histogram(hist)
    model = np.array([a**j * (1 - a) for j in range(k)] + [a**k]) * n
    return pd.DataFrame({"accepted draft tokens": np.arange(k + 1), "steps (measured)": hist.astype(int),
                         "steps (i.i.d. model)": model.round(1)})


# ============================================================================== why distillation works
WHY_PATH = DATA_DIR / "partB_why_distill.json"
#: One budget for every student of the "why distillation works" experiment (pure soft targets at T = 1).
WHY_CONFIG: dict[str, Any] = {"steps": 200, "batch_size": 16, "lr": 3e-3, "seeds": [0, 1], "T": 1.0}
#: What each student learns from: the true next character, or the teacher's distribution with parts removed.
WHY_VARIANTS = ("hard labels", "label smoothing", "top1", "flattened", "shuffled", "teacher")


def _why_targets(variant: str, eps: float, vocab_size: int, seed: int):
    """(alpha, targets callable or None) of one variant for :func:`lecture_lib.distill.train_student`."""
    if variant == "hard labels":
        return 0.0, None
    if variant == "label smoothing":
        return 1.0, lambda _p, labels: distill.smoothed_labels(labels, vocab_size, eps)
    gen = torch.Generator().manual_seed(10_000 + seed)
    return 1.0, lambda p, _labels: distill.modify_targets(p, variant, generator=gen)


def target_view(teacher: torch.nn.Module, text: str, *, seed: int = 0) -> pd.DataFrame:
    """What each target of :data:`WHY_VARIANTS` says about each next character of ``text`` (cut into windows of
    ``block_size + 1`` characters; float64 teacher): mean probability on the true next character, mean entropy (bits), and the mean probability on the
    teacher's 2nd to 5th choices (the "dark knowledge" the flattened and shuffled targets remove)."""
    w = teacher.config.block_size + 1
    ids = torch.tensor(tinylm.encode(text))
    if ids.numel() < w:
        raise ValueError(f"text must have at least block_size + 1 = {w} characters; got {ids.numel()}")
    ids = ids[: ids.numel() // w * w].reshape(-1, w)  # non-overlapping windows
    with torch.no_grad():
        logits = copy.deepcopy(teacher).double()(ids[:, :-1])
    p = torch.softmax(logits.reshape(-1, logits.shape[-1]), -1)
    labels = ids[:, 1:].reshape(-1)
    eps = float((1 - p.max(-1).values).mean())
    order = p.argsort(-1, descending=True)
    rows = []
    for variant in WHY_VARIANTS:
        if variant == "hard labels":
            t = distill.smoothed_labels(labels, p.shape[1], 0.0).double()
        elif variant == "label smoothing":
            t = distill.smoothed_labels(labels, p.shape[1], eps).double()
        else:
            t = distill.modify_targets(p, variant, generator=torch.Generator().manual_seed(seed))
        ent = -(torch.xlogy(t, t).sum(-1) / math.log(2)).mean()  # "+ 0.0" below: 0.0, not -0.0, for one-hot rows
        rows.append({"target": variant, "p(true next char)": float(t.gather(-1, labels[:, None]).mean()),
                     "entropy (bits)": float(ent) + 0.0, "p(teacher's 2nd-5th choices)": float(t.gather(-1, order[:, 1:5]).sum(-1).mean())})
    return pd.DataFrame(rows).set_index("target")


def why_distill(config: dict[str, Any] | None = None, *, progress=None) -> dict[str, Any]:
    """Train one student per variant of :data:`WHY_VARIANTS` and seed, all on the same batches with the same budget
    (``WHY_CONFIG``: steps, batch size, learning rate, T; the course's student architecture from scratch), and
    return their validation perplexities. The label-smoothing strength is the teacher's mean non-top-1 mass on the
    first training batch, so it matches the flattened teacher on average. One teacher forward per batch is shared
    by all students (:class:`MemoTeacher`). ``config["eval_chars"]``: score on that many validation characters
    only (None: the whole validation split)."""
    cfg = {**WHY_CONFIG, **(config or {})}
    val = tinylm.validation_text() if cfg.get("eval_chars") is None else tinylm.validation_text()[: cfg["eval_chars"]]
    teacher = tinylm.load("teacher")
    student_cfg = tinylm.load("student").config
    t0 = time.perf_counter()
    runs = []
    for seed in cfg["seeds"]:
        memo = MemoTeacher(teacher)
        data = torch.tensor(tinylm.encode(tinylm.train_text()), dtype=torch.long)
        x, _ = sample_batch(data, student_cfg.block_size, cfg["batch_size"], torch.Generator().manual_seed(int(seed)))
        eps = float((1 - torch.softmax(memo(x), -1).max(-1).values).mean())
        for variant in WHY_VARIANTS:
            alpha, targets = _why_targets(variant, eps, student_cfg.vocab_size, int(seed))
            model, log = distill.train_student(memo if variant != "label smoothing" else None, student_cfg,
                                               steps=cfg["steps"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                                               seed=int(seed), T=cfg["T"], alpha=alpha, targets=targets,
                                               log_every=cfg["steps"], progress=progress)
            runs.append({"variant": variant, "seed": int(seed), "label_smoothing_eps": eps,
                         "val_ppl": tinylm.perplexity(model, val), "final_train_ce": log.hard[-1]})
    return {"command": "python -m lecture_lib.experiments.partB --why", "config": cfg, "runs": runs,
            "teacher_val_ppl": tinylm.perplexity(teacher, val),
            "machine": {"train_wall_seconds": round(time.perf_counter() - t0, 1), "torch": torch.__version__,
                        "threads": torch.get_num_threads()}}


def load_why_distill(path: Path | str = WHY_PATH) -> dict[str, Any]:
    """The recorded "why distillation works" experiment (``--why``)."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not {"config", "runs"} <= set(data):
        raise ValueError(f"{path} is not a file written by why_distill (needs keys config, runs)")
    return data


def why_distill_table(results: dict[str, Any]) -> pd.DataFrame:
    """Validation perplexity per variant (mean over seeds, and each seed), with the change vs hard labels."""
    df = pd.DataFrame(results["runs"])
    t = df.pivot_table(index="variant", columns="seed", values="val_ppl").reindex(list(WHY_VARIANTS))
    t.columns = [f"seed {c}" for c in t.columns]
    t.insert(0, "val perplexity", t.mean(axis=1))
    base = t.loc["hard labels", "val perplexity"]
    t["vs hard labels"] = (t["val perplexity"] / base - 1).map(lambda v: f"{100 * v:+.1f} %")
    return t


# ============================================================================== one decoding step, measured
def _flops(model: torch.nn.Module, t: int) -> dict[str, int]:
    cfg = model.config
    return batching.decode_step_flops(cfg.n_layer, cfg.n_embd, t, vocab_size=cfg.vocab_size)


def decode_cost_table(model: torch.nn.Module, contexts: Sequence[int]) -> pd.DataFrame:
    """For a tiny-LM ``model`` at each context length T: the FLOPs of one cached decoding step by part
    (:func:`lecture_lib.batching.decode_step_flops`, millions), the attention share, and the bytes it reads in
    float32 (MB): every weight of the counted matrices once, and the K and V cache of T positions
    (:func:`lecture_lib.kvcache.kv_cache_bytes`)."""
    cfg = getattr(model, "config", None)
    if cfg is None:
        raise TypeError(f"model must be a tiny-LM model (with a .config); got {type(model).__name__}")
    rows = []
    for t in contexts:
        f = _flops(model, int(t))
        weights = (f["projections"] + f["mlp"] + f["head"]) // 2  # one multiply-add per weight
        kv = kvcache.kv_cache_bytes(cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head, int(t), bytes_per_value=4)
        rows.append({"context T": int(t), "projections MFLOP": f["projections"] / 1e6, "MLP MFLOP": f["mlp"] / 1e6,
                     "attention MFLOP": f["attention"] / 1e6, "attention share": f["attention"] / f["total"],
                     "weights MB": 4 * weights / 1e6, "KV cache MB": kv / 1e6})
    return pd.DataFrame(rows).set_index("context T")


def decode_step_times(model: torch.nn.Module, contexts: Sequence[int], *, repeats: int = 7, loops: int = 20,
                      clock=time.process_time) -> pd.DataFrame:
    """Median time (us, CPU time, one thread) of one cached decoding step of ``model`` (batch 1) after each context
    length (:func:`lecture_lib.batching.tinylm_decode_step`), interleaved over ``repeats`` rounds of ``loops`` steps;
    with the FLOP count of the same step and both relative to the shortest context."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        steps = {int(t): batching.tinylm_decode_step(model, context_len=int(t)) for t in contexts}
        for fn in steps.values():
            fn(1)
        samples: dict[int, list[float]] = {t: [] for t in steps}
        for _ in range(repeats):
            for t, fn in steps.items():
                t0 = clock()
                for _ in range(loops):
                    fn(1)
                samples[t].append((clock() - t0) / loops)
    finally:
        torch.set_num_threads(threads)
    rows = [{"context T": t, "step us": float(np.median(v)) * 1e6, "MFLOP": _flops(model, t)["total"] / 1e6}
            for t, v in samples.items()]
    df = pd.DataFrame(rows).set_index("context T")
    df["time / shortest"] = df["step us"] / df["step us"].iloc[0]
    df["FLOPs / shortest"] = df["MFLOP"] / df["MFLOP"].iloc[0]
    return df


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Record Part B's experiments (distillation, speculative decoding).")
    ap.add_argument("--distill", action="store_true", help="train scratch and distilled students; ship checkpoints")
    ap.add_argument("--speculative", action="store_true", help="record the speculative decoding grid")
    ap.add_argument("--why", action="store_true", help="record the 'why distillation works' students")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if not (args.distill or args.speculative or args.why):
        ap.error("choose --distill, --speculative and/or --why")
    torch.set_num_threads(args.threads)
    if args.distill:
        res = run_distillation()
        for r in res["runs"]:
            print(f"{r['kind']:<10} T={r['T']!s:<5} alpha={r['alpha']:<4} val ppl {r['val_ppl']:.4f}")
        print(f"teacher {res['teacher_val_ppl']:.4f}; {res['machine']['train_wall_seconds']} s")
    if args.why:
        res = why_distill()
        WHY_PATH.write_text(json.dumps(_clean(res), indent=1) + "\n")
        print(why_distill_table(res).round(3).to_string())
        print(f"{res['machine']['train_wall_seconds']} s")
    if args.speculative:
        res = run_speculative()
        for r in res["records"]:
            print(f"{r['draft']:<10} T={r['T']:.1f} k={r['k']} a={r['alpha']:.3f} "
                  f"tok/step={r['tokens_per_full_step']:.2f} (formula {r['formula_tokens']:.2f}) "
                  f"speedup {r['speedup']:.2f}x (pred {r['predicted_speedup']:.2f}x)")


if __name__ == "__main__":
    main()
