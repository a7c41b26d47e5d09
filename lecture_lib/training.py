"""The training step and the optimizer shared by every training run in the course.

Used by the tiny LM's training script (``lecture_lib.tinylm.train``), distillation (``distill.train_student``,
Part B), quantization-aware training (``experiments.partA.qat_finetune``, Part A) and the mixed-precision runs
(``mixed_precision.train_run``, Part E). What differs between them is only how the gradients are computed (plain
cross-entropy, the distillation loss, fake-quantized weights, autocast with loss scaling); that part is the
``gradients`` callable passed to :func:`train_step`.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["lm_gradients", "lm_loss", "make_optimizer", "train_step"]

T = TypeVar("T")


def lm_loss(model: nn.Module, idx: Tensor, targets: Tensor) -> Tensor:
    """Mean next-token cross-entropy of ``model(idx)`` against ``targets`` (both ``[batch, t]``)."""
    if not (isinstance(idx, Tensor) and isinstance(targets, Tensor)):
        raise TypeError("idx and targets must be integer tensors [batch, t]")
    if idx.shape != targets.shape or idx.ndim != 2:
        raise ValueError(f"idx and targets must both be [batch, t]; got {tuple(idx.shape)} and {tuple(targets.shape)}")
    logits = model(idx)
    # 16-bit logits (autocast) are raised to float32 for the loss; float32 and float64 models keep their precision
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def lm_gradients(model: nn.Module, idx: Tensor, targets: Tensor) -> Tensor:
    """:func:`lm_loss`, back-propagated into the parameters' ``.grad``; returns the loss (detached).

    The ``gradients`` callable of plain next-token training: ``train_step(model, opt, lambda: lm_gradients(model,
    x, y))``.
    """
    loss = lm_loss(model, idx, targets)
    loss.backward()
    return loss.detach()


def make_optimizer(
    model: nn.Module,
    lr: float,
    *,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.99),
    decay_all: bool = False,
) -> torch.optim.AdamW:
    """AdamW, the optimizer of every training run in the course.

    Weight decay applies to the matrices only (parameters with >= 2 dims that are not embeddings), not to
    biases, LayerNorm gains or embeddings; ``decay_all=True`` puts every parameter in one group with
    ``weight_decay`` (torch's default layout). The tiny LM's recipe: betas (0.9, 0.99), weight decay 0.1.
    """
    if decay_all:
        return torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "emb" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "emb" not in n)]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=betas,
    )


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    gradients: Callable[[], T],
    *,
    lr: float | None = None,
    grad_clip: float | None = None,
    scaler=None,
) -> tuple[T, bool]:
    """One optimizer step: clear the gradients, ``gradients()``, set the learning rate, clip, step.

    ``gradients()`` fills the parameters' ``.grad`` (typically a forward pass and ``loss.backward()``) and returns
    what the caller wants to log. ``lr``: the learning rate for this step (None: unchanged); ``grad_clip``: the
    largest global gradient norm (None: no clipping). With a :class:`~lecture_lib.mixed_precision.LossScaler`,
    the scaler unscales the gradients, skips the step if any is inf/NaN and updates its scale.
    Returns ``(gradients()'s value, whether the optimizer stepped)``.
    """
    optimizer.zero_grad(set_to_none=True)
    out = gradients()
    if lr is not None:
        for group in optimizer.param_groups:
            group["lr"] = lr
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if scaler is None:
        optimizer.step()
        return out, True
    stepped = scaler.step(optimizer)
    scaler.update()
    return out, stepped
