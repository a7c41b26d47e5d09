"""Knowledge distillation (Part B notebook, sections "Softmax at a temperature", "The KD loss and why T²",
"Distilling the tiny LM").

A *teacher* network's logits ``z_T`` carry more than its top answer: the relative sizes of the wrong
answers ("dark knowledge"). Hinton et al. (2015) expose them with a softmax at temperature ``T``

    p_i(T) = exp(z_i / T) / sum_j exp(z_j / T)

and train a *student* on the loss

    L = alpha * T**2 * KL(p_teacher(T) || p_student(T)) + (1 - alpha) * CE(labels, p_student(1)).

Conventions used throughout this module (the notebook derives them in Zone 3):

* "batch" = every position: logits of shape ``[N, V]`` or ``[B, S, V]`` are flattened to ``[N, V]``
  (N = B*S), the KL divergence is summed over the vocabulary and **averaged over the N positions**
  (``torch.nn.functional.kl_div(..., reduction="batchmean")`` on the flattened tensors), and the
  cross-entropy is the mean over the N positions.
* Gradient of the soft term w.r.t. one student logit row: ``d/dz_S [T² KL] = T * (p_S(T) - p_T(T)) / N``
  (one factor 1/T from the softmax at temperature, T² from the loss, 1/N from the batch mean).
  Without the T² factor the soft gradient shrinks like 1/T² for large T (not 1/T, as the lecture says).
* The teacher is a fixed target: its logits are detached, gradients flow to the student only.

The algorithms layer: torch only, no I/O. ``train_student`` is the one routine that needs the tiny LM
(its model class, corpus and training recipe); it imports ``lecture_lib.tinylm`` inside the function.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lecture_lib._checks import fraction, integer, positive
from lecture_lib.training import make_optimizer, train_step

__all__ = [
    "softmax_t",
    "log_softmax_t",
    "kl_divergence",
    "distillation_loss",
    "soft_target_gradient",
    "TrainLog",
    "train_student",
    "TARGET_MODES",
    "modify_targets",
    "smoothed_labels",
]


# ----------------------------------------------------------------------------------------------- checks
def _as_float_tensor(x, name: str) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    elif not isinstance(x, Tensor):
        if isinstance(x, (list, tuple)):
            x = torch.tensor(x, dtype=torch.float64)
        else:
            raise TypeError(f"{name} must be a torch.Tensor, numpy array or nested list; got {type(x).__name__}")
    if not (x.is_floating_point()):
        if x.dtype in (torch.bool,) or x.is_complex():
            raise TypeError(f"{name} must hold real numbers; got dtype {x.dtype}")
        x = x.to(torch.float64 if x.dtype == torch.int64 else torch.float32)
    if x.ndim == 0:
        raise ValueError(f"{name} must have a vocabulary (last) dimension; got a scalar")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty; got shape {tuple(x.shape)}")
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()  # the loss is computed in float32 at least
    return x


def _check_finite(x: Tensor, name: str) -> None:
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite (no NaN or ±inf logits)")


# -------------------------------------------------------------------------------------------- softmax(T)
def log_softmax_t(logits, T: float = 1.0) -> Tensor:
    """log p_i(T) = z_i/T - logsumexp_j(z_j/T) over the last dim (numerically stable)."""
    z = _as_float_tensor(logits, "logits")
    T = positive("T", T)
    _check_finite(z, "logits")
    return F.log_softmax(z / T, dim=-1)


def softmax_t(logits, T: float = 1.0) -> Tensor:
    """Softmax at temperature T over the last dim: p_i(T) = exp(z_i/T) / sum_j exp(z_j/T).

    T = 1 is the ordinary softmax; T -> inf tends to uniform, T -> 0 to one-hot at the argmax.
    Accepts a tensor, numpy array or list of any shape [..., V]. Taught in "Softmax at a temperature"
    (e.g. logits [5.0, 3.5, 0.2]: T=1 -> [0.8121, 0.1812, 0.0067], T=5 -> [0.4709, 0.3488, 0.1803]).
    """
    return log_softmax_t(logits, T).exp()


def kl_divergence(p_logits, q_logits, T: float = 1.0) -> Tensor:
    """KL(softmax(p_logits/T) || softmax(q_logits/T)) summed over the last dim, one value per row."""
    lp = log_softmax_t(p_logits, T)
    lq = log_softmax_t(q_logits, T)
    if lp.shape != lq.shape:
        raise ValueError(f"p_logits and q_logits must have the same shape; got {tuple(lp.shape)} and {tuple(lq.shape)}")
    return (lp.exp() * (lp - lq)).sum(-1)


# ----------------------------------------------------------------------------------------------- KD loss
def _flatten_pair(student_logits, teacher_logits) -> tuple[Tensor, Tensor, tuple[int, ...]]:
    s = _as_float_tensor(student_logits, "student_logits")
    t = _as_float_tensor(teacher_logits, "teacher_logits")
    if s.ndim not in (2, 3):
        raise ValueError(f"student_logits must be [N, V] or [B, S, V]; got shape {tuple(s.shape)}")
    if t.shape != s.shape:
        raise ValueError(
            f"teacher_logits must have the student's shape {tuple(s.shape)}; got {tuple(t.shape)}"
        )
    _check_finite(s.detach(), "student_logits")
    _check_finite(t, "teacher_logits")
    dtype = torch.promote_types(s.dtype, t.dtype)
    V = s.shape[-1]
    return s.to(dtype).reshape(-1, V), t.detach().to(dtype).reshape(-1, V), tuple(s.shape)


def distillation_loss(student_logits, teacher_logits, labels=None, *, T: float = 2.0, alpha: float = 0.5) -> Tensor:
    """Hinton's knowledge-distillation loss, a scalar tensor (differentiable w.r.t. ``student_logits``).

        L = alpha * T**2 * KL(softmax(z_T/T) || softmax(z_S/T))  +  (1 - alpha) * CE(z_S, labels)

    KL is summed over the vocabulary and averaged over all N positions ("batchmean"); CE is the mean
    over positions. ``labels=None``: only the soft term, ``T**2 * KL`` (``alpha`` is then not used).

    Shapes: logits ``[N, V]`` with labels ``[N]``, or ``[B, S, V]`` with labels ``[B, S]``; labels are
    integer class ids in 0..V-1. The gradient of the soft term w.r.t. the student's logits is
    ``alpha * T * (p_S(T) - p_T(T)) / N`` (see :func:`soft_target_gradient`).
    Taught in Part B, "The KD loss and why T²".
    """
    T = positive("T", T)
    alpha = fraction("alpha", alpha, what="the weight of the soft KD term")
    s, t, shape = _flatten_pair(student_logits, teacher_logits)
    N, V = s.shape
    log_ps = F.log_softmax(s / T, dim=-1)
    log_pt = F.log_softmax(t / T, dim=-1)
    kl = (log_pt.exp() * (log_pt - log_ps)).sum(-1).mean()  # batch mean of per-row KL
    soft = T * T * kl
    if labels is None:
        return soft
    y = labels
    if isinstance(y, np.ndarray):
        y = torch.from_numpy(y)
    elif not isinstance(y, Tensor):
        y = torch.as_tensor(y)
    if y.is_floating_point() or y.dtype == torch.bool or y.is_complex():
        raise TypeError(f"labels must be integer class ids; got dtype {y.dtype}")
    want = shape[:-1]
    if tuple(y.shape) != want:
        raise ValueError(f"labels must have shape {want} (the logits' shape without the vocabulary dim); got {tuple(y.shape)}")
    y = y.reshape(-1).long()
    if bool(((y < 0) | (y >= V)).any()):
        raise ValueError(f"labels must be class ids in 0..{V - 1}; got values in {int(y.min())}..{int(y.max())}")
    hard = F.cross_entropy(s, y)
    return alpha * soft + (1.0 - alpha) * hard


def soft_target_gradient(student_logits, teacher_logits, *, T: float = 2.0, t_squared: bool = True) -> Tensor:
    """Analytic gradient of the soft KD term w.r.t. the student's logits, same shape as the logits.

    With the batch-mean convention of :func:`distillation_loss` (N positions):
    ``t_squared=True``:  d/dz_S [T² KL] = T (p_S(T) - p_T(T)) / N;
    ``t_squared=False``: d/dz_S [KL]    = (p_S(T) - p_T(T)) / (T N), which vanishes like 1/T² relative
    to the T² version (Hinton's reason for the T² factor). Used by the temperature widget.
    """
    T = positive("T", T)
    s, t, shape = _flatten_pair(student_logits, teacher_logits)
    N = s.shape[0]
    g = (F.softmax(s / T, dim=-1) - F.softmax(t / T, dim=-1)) / N
    g = g * T if t_squared else g / T
    return g.reshape(shape)


# ------------------------------------------------------------------------------- why distillation works
TARGET_MODES = ("teacher", "top1", "flattened", "shuffled")


def modify_targets(probs, mode: str, *, generator: torch.Generator | None = None) -> Tensor:
    """The teacher's distribution ``probs`` [N, V] with part of its information removed (Part B, Zone 6
    "Why distillation works"); every mode keeps the teacher's top-1 token:

    * ``"teacher"``   unchanged (all of the dark knowledge)
    * ``"top1"``      one-hot at the teacher's argmax (its decision only: no confidence, no dark knowledge)
    * ``"flattened"`` the top-1 probability kept, the rest ``(1 - p_top) / (V - 1)`` each: the teacher's
      confidence per position survives, *which* wrong answers it finds plausible does not (a label smoothing
      whose strength the teacher sets)
    * ``"shuffled"``  the top-1 probability kept, the other V - 1 probabilities permuted at random among the
      wrong tokens (per row; ``generator``): the same entropy, the similarity structure destroyed
    """
    p = _as_float_tensor(probs, "probs")
    if p.ndim != 2:
        raise ValueError(f"probs must be [N, V] probability rows; got shape {tuple(p.shape)}")
    _check_finite(p, "probs")
    if bool((p < 0).any()) or not torch.allclose(p.sum(-1), torch.ones(p.shape[0], dtype=p.dtype), atol=1e-4):
        raise ValueError("probs must be probability rows: non-negative, each summing to 1")
    if mode not in TARGET_MODES:
        raise ValueError(f"mode must be one of {TARGET_MODES}; got {mode!r}")
    n, v = p.shape
    top = p.argmax(-1, keepdim=True)
    if mode == "teacher":
        return p
    if mode == "top1":
        return torch.zeros_like(p).scatter_(-1, top, 1.0)
    p_top = p.gather(-1, top)
    if mode == "flattened":
        return ((1.0 - p_top) / (v - 1)).expand(n, v).clone().scatter_(-1, top, p_top)
    # shuffled: random keys with the top forced first give a random order of the positions; the original
    # positions with the top first, the rest in index order, give where each value comes from
    keys = torch.rand(n, v, generator=generator, dtype=torch.float64).scatter_(-1, top, -1.0)
    dest = keys.argsort(-1)
    src = torch.arange(v, dtype=torch.float64).expand(n, v).clone().scatter_(-1, top, -1.0).argsort(-1)
    return torch.zeros_like(p).scatter_(-1, dest, p.gather(-1, src))


def smoothed_labels(labels, vocab_size: int, eps: float) -> Tensor:
    """Label smoothing of the true labels: ``1 - eps`` on the label, ``eps / (V - 1)`` on every other token
    (float32 rows [N, V]). The regularisation hypothesis without a teacher."""
    eps = fraction("eps", eps, what="the smoothed mass")
    v = integer("vocab_size", vocab_size, 2)
    labels = torch.as_tensor(labels).reshape(-1, 1).long()
    out = torch.full((labels.shape[0], v), eps / (v - 1))
    return out.scatter_(-1, labels, 1.0 - eps)


# ------------------------------------------------------------------------------------- training routine
@dataclasses.dataclass
class TrainLog:
    """What :func:`train_student` records: per step the total loss and its soft and hard parts."""

    step: list[int] = dataclasses.field(default_factory=list)
    loss: list[float] = dataclasses.field(default_factory=list)
    soft: list[float] = dataclasses.field(default_factory=list)
    hard: list[float] = dataclasses.field(default_factory=list)
    config: dict = dataclasses.field(default_factory=dict)

    def as_records(self) -> list[dict]:
        """One dict per logged step (ready for ``pandas.DataFrame``)."""
        return [
            {"step": s, "loss": l, "soft": a, "hard": b}
            for s, l, a, b in zip(self.step, self.loss, self.soft, self.hard)
        ]


def _kd_parts(student_logits: Tensor, teacher_logits: Tensor | None, labels: Tensor, T: float) -> tuple[Tensor | None, Tensor]:
    """(T² KL batch-mean or None without a teacher, CE mean) on flattened [N, V] logits; no checks (hot loop)."""
    V = student_logits.shape[-1]
    s = student_logits.reshape(-1, V)
    hard = F.cross_entropy(s, labels.reshape(-1))
    if teacher_logits is None:
        return None, hard
    log_ps = F.log_softmax(s / T, dim=-1)
    log_pt = F.log_softmax(teacher_logits.detach().reshape(-1, V).to(s.dtype) / T, dim=-1)
    soft = T * T * (log_pt.exp() * (log_pt - log_ps)).sum(-1).mean()
    return soft, hard


def _target_parts(student_logits: Tensor, teacher_logits: Tensor | None, labels: Tensor, T: float,
                  targets: Callable[[Tensor | None, Tensor], Tensor]) -> tuple[Tensor, Tensor]:
    """(T² cross-entropy to the target rows minus their entropy, CE mean) for ``train_student(targets=...)``."""
    V = student_logits.shape[-1]
    s = student_logits.reshape(-1, V)
    hard = F.cross_entropy(s, labels.reshape(-1))
    pt_in = None
    if teacher_logits is not None:
        pt_in = F.softmax(teacher_logits.detach().reshape(-1, V).to(s.dtype) / T, dim=-1)
    t = targets(pt_in, labels.reshape(-1)).to(s.dtype).detach()
    log_ps = F.log_softmax(s / T, dim=-1)
    soft = T * T * (torch.xlogy(t, t) - t * log_ps).sum(-1).mean()
    return soft, hard


def train_student(
    teacher,
    student,
    *,
    steps: int = 300,
    T: float = 2.0,
    alpha: float = 0.5,
    seed: int = 0,
    batch_size: int = 32,
    lr: float = 3e-3,
    warmup: int | None = None,
    weight_decay: float = 0.1,
    grad_clip: float = 1.0,
    log_every: int = 10,
    text: str | None = None,
    progress: Callable | None = None,
    targets: Callable[[Tensor | None, Tensor], Tensor] | None = None,
):
    """Distil a tiny-LM student from a teacher on the tiny LM's training text; returns ``(student, TrainLog)``.

    ``student``: a ``GPTConfig`` (a fresh student, initialized from ``seed``) or a tiny-LM model (a deep
    copy is trained; the argument is untouched). ``teacher``: a tiny-LM model, run in eval mode without
    gradients; may be None when ``alpha == 0``. Each step draws ``batch_size`` random windows of the
    student's ``block_size`` characters from ``text`` (None: ``tinylm.train_text()``) and minimizes
    :func:`distillation_loss` (alpha * T² KL + (1 - alpha) * CE) with the tiny LM's own recipe and training step
    (:func:`lecture_lib.training.make_optimizer`, :func:`lecture_lib.training.train_step`: AdamW,
    betas 0.9/0.99, weight decay on matrices, linear warmup + cosine decay to 10 %, gradient clipping).
    ``alpha = 0`` is plain next-character training: the "same student from scratch, same budget"
    baseline (the teacher is then not run). Deterministic for a given seed and thread count; the global
    RNG is left as it was. ``progress``: optional wrapper for the step iterator (e.g. ``tqdm.tqdm``).
    ``targets``: optional ``f(teacher probabilities at T [N, V] or None without a teacher, labels [N]) -> target
    rows [N, V]`` that replaces ``softmax(teacher / T)`` in the soft term (e.g. :func:`modify_targets`,
    :func:`smoothed_labels`); the soft term is then ``T² sum_i t_i (log t_i - log p_S,i)`` averaged over positions.
    The log records every ``log_every`` steps the mean total, soft (T² KL) and hard (CE) losses since the
    previous record. Taught in Part B, "Distilling the tiny LM".
    """
    from lecture_lib.tinylm import GPTConfig, TinyGPT, encode, train_text  # the model layer (lazy)
    from lecture_lib.tinylm.train import TrainConfig, lr_at, sample_batch

    T = positive("T", T)
    alpha = fraction("alpha", alpha, what="the weight of the soft KD term")
    steps, batch_size, log_every = integer("steps", steps), integer("batch_size", batch_size), integer("log_every", log_every)
    seed, lr = integer("seed", seed, 0), positive("lr", lr)
    warmup = min(100, max(1, steps // 10)) if warmup is None else warmup
    if teacher is None and alpha > 0 and targets is None:
        raise ValueError("teacher must be a tiny-LM model when alpha > 0 (alpha = 0 trains without a teacher)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(student, GPTConfig):
            model = TinyGPT(student, name="student-distilled" if alpha > 0 else "student-scratch")
        elif isinstance(student, torch.nn.Module) and hasattr(student, "config"):
            model = copy.deepcopy(student)
        else:
            raise TypeError(f"student must be a GPTConfig or a tiny-LM model; got {type(student).__name__}")
    cfg = model.config
    if teacher is not None:
        tcfg = getattr(teacher, "config", None)
        if tcfg is None or tcfg.vocab_size != cfg.vocab_size or tcfg.block_size < cfg.block_size:
            raise ValueError(
                "teacher must be a tiny-LM model with the student's vocabulary and a block_size >= the student's "
                f"({cfg.vocab_size} tokens, {cfg.block_size} positions)"
            )
        teacher_was_training = teacher.training
        teacher.eval()
    tc = TrainConfig(steps=int(steps), batch_size=int(batch_size), lr=float(lr), warmup=int(warmup),
                     weight_decay=float(weight_decay), grad_clip=float(grad_clip), seed=int(seed))
    data = torch.tensor(encode(train_text() if text is None else text), dtype=torch.long)
    if data.numel() < cfg.block_size + 2:
        raise ValueError(f"text must have more than block_size + 1 = {cfg.block_size + 1} characters; got {data.numel()}")
    gen = torch.Generator().manual_seed(int(seed))
    opt = make_optimizer(model, tc.lr, weight_decay=tc.weight_decay)
    log = TrainLog(config={"steps": steps, "T": T, "alpha": alpha, "seed": seed, "batch_size": batch_size,
                           "lr": lr, "warmup": warmup, "block_size": cfg.block_size,
                           "student": dataclasses.asdict(cfg), "teacher": getattr(teacher, "name", None)})
    acc = {"loss": 0.0, "soft": 0.0, "hard": 0.0, "n": 0}
    model.train()
    it = range(tc.steps) if progress is None else progress(range(tc.steps))
    try:
        for step in it:
            x, y = sample_batch(data, cfg.block_size, tc.batch_size, gen)

            def kd_backward() -> tuple[Tensor, Tensor | None, Tensor]:
                t_logits = None
                if alpha > 0 and teacher is not None:
                    with torch.no_grad():
                        t_logits = teacher(x)
                s_logits = model(x)
                if targets is None:
                    soft, hard = _kd_parts(s_logits, t_logits, y, T)
                else:
                    soft, hard = _target_parts(s_logits, t_logits, y, T, targets)
                loss = hard if soft is None else alpha * soft + (1 - alpha) * hard
                loss.backward()
                return loss, soft, hard

            (loss, soft, hard), _ = train_step(model, opt, kd_backward, lr=lr_at(step, tc), grad_clip=tc.grad_clip)
            acc["loss"] += float(loss.detach())
            acc["soft"] += float("nan") if soft is None else float(soft.detach())
            acc["hard"] += float(hard.detach())
            acc["n"] += 1
            if (step + 1) % log_every == 0 or step + 1 == tc.steps:
                log.step.append(step + 1)
                for key in ("loss", "soft", "hard"):
                    getattr(log, key).append(acc[key] / acc["n"])
                acc = {"loss": 0.0, "soft": 0.0, "hard": 0.0, "n": 0}
    finally:
        if teacher is not None:
            teacher.train(teacher_was_training)
    return model.eval(), log
