"""Tests for lecture_lib.distill: the KD loss against a hand-written reference and torch's kl_div, its
gradient against the analytic T (p_S - p_T) / N, the alpha limits, the lecture's (corrected) softmax
vectors, hypothesis properties, bad inputs, and training a student from the tiny LM's teacher."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib.distill import (
    distillation_loss,
    kl_divergence,
    log_softmax_t,
    soft_target_gradient,
    softmax_t,
)

SETTINGS = settings(max_examples=50, deadline=None)


# ------------------------------------------------------------------------- hand-written reference (numpy)
def ref_softmax(z: np.ndarray, T: float) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64) / T
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ref_loss(s: np.ndarray, t: np.ndarray, y: np.ndarray | None, T: float, alpha: float) -> float:
    V = s.shape[-1]
    s2, t2 = s.reshape(-1, V), t.reshape(-1, V)
    ps, pt = ref_softmax(s2, T), ref_softmax(t2, T)
    kl = float(np.mean(np.sum(pt * (np.log(pt) - np.log(ps)), axis=-1)))
    if y is None:
        return T * T * kl
    p1 = ref_softmax(s2, 1.0)
    ce = float(np.mean(-np.log(p1[np.arange(len(p1)), y.reshape(-1)])))
    return alpha * T * T * kl + (1 - alpha) * ce


# ------------------------------------------------------------------------------------ softmax at T
def test_lecture_softmax_vectors_corrected():
    """Errata rows 61/62: the lecture prints [0.82, 0.16, 0.02] and [0.49, 0.39, 0.12]; these are wrong."""
    z = [5.0, 3.5, 0.2]
    p1 = softmax_t(z, 1.0)
    p5 = softmax_t(z, 5.0)
    assert torch.allclose(p1, torch.tensor([0.8121, 0.1812, 0.0067], dtype=p1.dtype), atol=5e-5)
    assert torch.allclose(p5, torch.tensor([0.4709, 0.3488, 0.1803], dtype=p5.dtype), atol=5e-5)
    assert not torch.allclose(p1, torch.tensor([0.82, 0.16, 0.02], dtype=p1.dtype), atol=5e-3)
    assert not torch.allclose(p5, torch.tensor([0.49, 0.39, 0.12], dtype=p5.dtype), atol=5e-3)


def test_lecture_quantspec_softmax_example():
    """Errata row 74: top-1 probabilities 0.8406 vs 0.8302 (the lecture says 0.92 vs 0.91)."""
    pt = softmax_t([3.2, 1.1, 0.5], 1.0)
    pq = softmax_t([3.1, 1.0, 0.6], 1.0)
    assert round(float(pt[0]), 4) == 0.8406 and round(float(pq[0]), 4) == 0.8302


def test_softmax_limits_and_stability():
    z = torch.tensor([1000.0, 999.0, -1000.0])
    p = softmax_t(z, 1.0)
    assert torch.isfinite(p).all() and abs(float(p.sum()) - 1) < 1e-6
    assert torch.allclose(softmax_t(z, 1e6), torch.full((3,), 1 / 3), atol=1e-3)  # T -> inf: uniform
    assert torch.allclose(softmax_t(z, 1e-3), torch.tensor([1.0, 0.0, 0.0]))  # T -> 0: one-hot
    assert torch.allclose(log_softmax_t(z, 2.0), F.log_softmax(z / 2, -1))


@SETTINGS
@given(
    z=st.lists(st.floats(-30, 30), min_size=1, max_size=12),
    T=st.floats(0.05, 50),
)
def test_softmax_t_matches_reference(z, T):
    p = softmax_t(torch.tensor(z, dtype=torch.float64), T)
    assert np.allclose(p.numpy(), ref_softmax(np.array(z), T), rtol=1e-10, atol=1e-12)
    assert abs(float(p.sum()) - 1) < 1e-12 and bool((p >= 0).all())


def test_entropy_grows_with_temperature():
    z = torch.tensor([5.0, 3.5, 0.2, -1.0])
    ent = [float(-(softmax_t(z, T) * log_softmax_t(z, T)).sum()) for T in (0.5, 1, 2, 5, 10)]
    assert all(a < b for a, b in zip(ent, ent[1:]))


# ------------------------------------------------------------------------------------------- the loss
@pytest.mark.parametrize("shape", [(7, 11), (2, 5, 11)])
@pytest.mark.parametrize("T,alpha", [(1.0, 0.5), (2.0, 0.3), (4.0, 0.9), (0.5, 0.0), (10.0, 1.0)])
def test_loss_matches_numpy_reference(shape, T, alpha):
    g = torch.Generator().manual_seed(1)
    s = torch.randn(shape, generator=g, dtype=torch.float64) * 3
    t = torch.randn(shape, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, shape[-1], shape[:-1], generator=g)
    got = float(distillation_loss(s, t, y, T=T, alpha=alpha))
    assert math.isclose(got, ref_loss(s.numpy(), t.numpy(), y.numpy(), T, alpha), rel_tol=1e-10)
    got_soft = float(distillation_loss(s, t, T=T, alpha=alpha))  # labels=None: T² KL alone, alpha unused
    assert math.isclose(got_soft, ref_loss(s.numpy(), t.numpy(), None, T, alpha), rel_tol=1e-10)


def test_loss_matches_torch_kl_div_batchmean():
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(3, 4, 9, generator=g), torch.randn(3, 4, 9, generator=g)
    y = torch.randint(0, 9, (3, 4), generator=g)
    T, alpha = 3.0, 0.7
    kl = F.kl_div(F.log_softmax(s.reshape(-1, 9) / T, -1), F.log_softmax(t.reshape(-1, 9) / T, -1),
                  reduction="batchmean", log_target=True)
    ce = F.cross_entropy(s.reshape(-1, 9), y.reshape(-1))
    want = alpha * T**2 * kl + (1 - alpha) * ce
    assert torch.allclose(distillation_loss(s, t, y, T=T, alpha=alpha), want, rtol=1e-6)
    assert torch.allclose(distillation_loss(s, t, T=T), T**2 * kl, rtol=1e-6)
    assert torch.allclose(kl_divergence(t, s, T).mean(), kl, rtol=1e-6)


def test_alpha_limits():
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    y = torch.randint(0, 5, (6,), generator=g)
    assert torch.allclose(distillation_loss(s, t, y, T=2.0, alpha=0.0), F.cross_entropy(s, y))
    assert torch.allclose(distillation_loss(s, t, y, T=2.0, alpha=1.0), distillation_loss(s, t, T=2.0))


def test_loss_zero_iff_student_matches_teacher_distribution():
    z = torch.randn(4, 8, dtype=torch.float64)
    assert float(distillation_loss(z, z, T=3.0)) == pytest.approx(0.0, abs=1e-12)
    # softmax is shift-invariant per row: a constant offset changes nothing
    assert float(distillation_loss(z + 5.0, z, T=3.0)) == pytest.approx(0.0, abs=1e-12)
    assert float(distillation_loss(z.flip(-1), z, T=3.0)) > 1e-3


@SETTINGS
@given(
    n=st.integers(1, 6),
    V=st.integers(2, 9),
    T=st.floats(0.2, 20),
    alpha=st.floats(0, 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_loss_properties(n, V, T, alpha, seed):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(n, V, generator=g, dtype=torch.float64) * 4
    t = torch.randn(n, V, generator=g, dtype=torch.float64) * 4
    y = torch.randint(0, V, (n,), generator=g)
    soft = float(distillation_loss(s, t, T=T))
    assert soft >= -1e-12  # KL >= 0
    total = float(distillation_loss(s, t, y, T=T, alpha=alpha))
    ce = float(F.cross_entropy(s, y))
    assert math.isclose(total, alpha * soft + (1 - alpha) * ce, rel_tol=1e-9, abs_tol=1e-12)
    # the batch mean: duplicating every row leaves the loss unchanged
    assert math.isclose(float(distillation_loss(torch.cat([s, s]), torch.cat([t, t]), T=T)), soft,
                        rel_tol=1e-9, abs_tol=1e-12)


# ------------------------------------------------------------------------------------------ gradients
@pytest.mark.parametrize("T", [1.0, 2.0, 5.0, 20.0])
def test_soft_gradient_is_T_times_prob_difference_over_N(T):
    """d(T² KL_batchmean)/dz_S = T (p_S(T) - p_T(T)) / N (errata row 59), checked by autograd."""
    g = torch.Generator().manual_seed(4)
    s = (torch.randn(2, 3, 7, generator=g, dtype=torch.float64) * 2).requires_grad_(True)
    t = torch.randn(2, 3, 7, generator=g, dtype=torch.float64) * 2
    N = 6
    distillation_loss(s, t, T=T).backward()
    want = T * (softmax_t(s.detach(), T) - softmax_t(t, T)) / N
    assert torch.allclose(s.grad, want, atol=1e-14)
    assert torch.allclose(soft_target_gradient(s.detach(), t, T=T), want, atol=1e-14)


def test_full_gradient_with_labels():
    g = torch.Generator().manual_seed(5)
    s = torch.randn(5, 6, generator=g, dtype=torch.float64).requires_grad_(True)
    t = torch.randn(5, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 6, (5,), generator=g)
    T, alpha = 3.0, 0.4
    distillation_loss(s, t, y, T=T, alpha=alpha).backward()
    onehot = F.one_hot(y, 6).double()
    want = alpha * T * (softmax_t(s.detach(), T) - softmax_t(t, T)) / 5 + (1 - alpha) * (
        softmax_t(s.detach(), 1.0) - onehot) / 5
    assert torch.allclose(s.grad, want, atol=1e-14)


def test_teacher_receives_no_gradient():
    s = torch.randn(3, 4, requires_grad=True)
    t = torch.randn(3, 4, requires_grad=True)
    distillation_loss(s, t, T=2.0).backward()
    assert t.grad is None and s.grad is not None


def test_T_squared_keeps_gradient_scale_roughly_constant():
    """Errata rows 58/60: without T² the soft gradient shrinks like 1/T² (not 1/T); with T² it tends to
    the T-independent limit (z_S - z_T, centred over the K classes) / (K N) for large T."""
    z_s = torch.tensor([[1.0, 2.0, 0.5, -1.0, 0.0]], dtype=torch.float64)
    z_t = torch.tensor([[3.0, -1.0, 0.0, 2.0, 1.0]], dtype=torch.float64)
    with_t2 = {T: float(soft_target_gradient(z_s, z_t, T=T).norm()) for T in (1, 10, 100, 1000)}
    without = {T: float(soft_target_gradient(z_s, z_t, T=T, t_squared=False).norm()) for T in (1, 10, 100, 1000)}
    d = (z_s - z_t) - (z_s - z_t).mean()
    limit = float((d / 5).norm())
    assert with_t2[1000] == pytest.approx(limit, rel=1e-3)
    assert with_t2[100] == pytest.approx(limit, rel=0.05)
    assert without[1000] / without[100] == pytest.approx(1e-2, rel=0.02)  # 1/T² scaling
    assert not without[1000] / without[100] == pytest.approx(1e-1, rel=0.5)  # not 1/T


# ----------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"T": 0.0}, ValueError, "T"),
        ({"T": -1.0}, ValueError, "T"),
        ({"T": float("nan")}, ValueError, "T"),
        ({"T": "2"}, TypeError, "T"),
        ({"alpha": 1.5}, ValueError, "alpha"),
        ({"alpha": -0.1}, ValueError, "alpha"),
    ],
)
def test_bad_hyperparameters(kwargs, exc, match):
    s, t = torch.randn(2, 3), torch.randn(2, 3)
    with pytest.raises(exc, match=match):
        distillation_loss(s, t, torch.tensor([0, 1]), **kwargs)


def test_bad_shapes_and_values():
    s = torch.randn(2, 3)
    with pytest.raises(ValueError, match="teacher_logits"):
        distillation_loss(s, torch.randn(2, 4))
    with pytest.raises(ValueError, match="student_logits"):
        distillation_loss(torch.randn(3), torch.randn(3))
    with pytest.raises(ValueError, match="labels"):
        distillation_loss(s, s, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        distillation_loss(s, s, torch.tensor([0, 3]))
    with pytest.raises(TypeError, match="labels"):
        distillation_loss(s, s, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="finite"):
        distillation_loss(torch.tensor([[0.0, float("nan")]]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="empty"):
        distillation_loss(torch.zeros(0, 3), torch.zeros(0, 3))
    with pytest.raises(TypeError, match="student_logits"):
        distillation_loss("x", s)
    with pytest.raises(ValueError, match="T"):
        softmax_t([1.0, 2.0], 0)


def test_accepts_numpy_and_half_precision():
    s = np.random.default_rng(0).normal(size=(4, 5))
    t = np.random.default_rng(1).normal(size=(4, 5))
    a = distillation_loss(s, t, np.array([0, 1, 2, 3]), T=2.0)
    b = distillation_loss(torch.from_numpy(s).half(), torch.from_numpy(t).half(), torch.tensor([0, 1, 2, 3]), T=2.0)
    assert a.dtype == torch.float64 and b.dtype == torch.float32
    assert float(a) == pytest.approx(float(b), rel=1e-2)


# ------------------------------------------------------------------------------------ train_student
TEXT = ("The quick brown fox jumps over the lazy dog. " * 40) + "Pack my box with five dozen liquor jugs. " * 40


def _tiny_cfg(**kw):
    from lecture_lib.tinylm import GPTConfig

    base = dict(block_size=32, n_layer=1, n_head=2, n_embd=32)
    base.update(kw)
    return GPTConfig(**base)


@pytest.fixture(scope="module")
def tiny_teacher():
    from lecture_lib.distill import train_student

    # a small teacher trained on the same text (alpha = 0: plain next-character training)
    teacher, _ = train_student(None, _tiny_cfg(n_layer=2, n_embd=48), steps=60, alpha=0.0, text=TEXT, seed=1,
                               batch_size=16, lr=1e-2)
    return teacher


def test_train_student_logs_and_learns(tiny_teacher):
    from lecture_lib.distill import train_student

    student, log = train_student(tiny_teacher, _tiny_cfg(), steps=40, T=2.0, alpha=0.5, text=TEXT, seed=0,
                                 batch_size=16, lr=1e-2, log_every=10)
    assert log.step == [10, 20, 30, 40]
    assert all(math.isfinite(v) for v in log.loss + log.soft + log.hard)
    for tot, so, ha in zip(log.loss, log.soft, log.hard):
        assert tot == pytest.approx(0.5 * so + 0.5 * ha, rel=1e-6)
    assert log.loss[-1] < log.loss[0] and log.soft[-1] < log.soft[0]
    assert not student.training and log.config["alpha"] == 0.5
    assert len(log.as_records()) == 4


def test_train_student_is_deterministic_and_leaves_inputs_alone(tiny_teacher):
    from lecture_lib.distill import train_student

    before = {k: v.clone() for k, v in tiny_teacher.state_dict().items()}
    rng_before = torch.get_rng_state()
    a, la = train_student(tiny_teacher, _tiny_cfg(), steps=5, text=TEXT, seed=3, batch_size=4)
    b, lb = train_student(tiny_teacher, _tiny_cfg(), steps=5, text=TEXT, seed=3, batch_size=4)
    assert la.loss == lb.loss
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert all(torch.equal(before[k], v) for k, v in tiny_teacher.state_dict().items())
    assert torch.equal(rng_before, torch.get_rng_state())  # the global RNG is untouched
    c, _ = train_student(tiny_teacher, a, steps=2, text=TEXT, seed=3, batch_size=4)  # a model: copy trained
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_train_student_alpha_zero_needs_no_teacher_and_matches_ce():
    from lecture_lib.distill import train_student

    m, log = train_student(None, _tiny_cfg(), steps=4, alpha=0.0, text=TEXT, batch_size=4, log_every=2)
    assert all(math.isnan(v) for v in log.soft) and log.loss == log.hard


def test_train_student_bad_inputs(tiny_teacher):
    from lecture_lib.distill import train_student

    with pytest.raises(ValueError, match="teacher"):
        train_student(None, _tiny_cfg(), steps=1, alpha=0.5, text=TEXT)
    with pytest.raises(ValueError, match="teacher"):
        train_student(tiny_teacher, _tiny_cfg(block_size=64), steps=1, text=TEXT)
    with pytest.raises(TypeError, match="student"):
        train_student(tiny_teacher, "student", steps=1, text=TEXT)
    with pytest.raises(ValueError, match="steps"):
        train_student(tiny_teacher, _tiny_cfg(), steps=0, text=TEXT)
    with pytest.raises(ValueError, match="T"):
        train_student(tiny_teacher, _tiny_cfg(), steps=1, T=0.0, text=TEXT)
    with pytest.raises(ValueError, match="text"):
        train_student(tiny_teacher, _tiny_cfg(), steps=1, text="too short")


# ---------------------------------------------------------------------------------------------------------
# modified targets: why distillation works (Part B, Zone 6.3)
# ---------------------------------------------------------------------------------------------------------
from lecture_lib import distill  # noqa: E402


def _rows(n, v, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(n, v, generator=g, dtype=torch.float64), -1)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 20), v=st.integers(2, 40), seed=st.integers(0, 10_000))
def test_modified_targets_keep_what_they_promise(n, v, seed):
    p = _rows(n, v, seed)
    top = p.argmax(-1)
    p_top = p.max(-1).values
    for mode in distill.TARGET_MODES:
        t = distill.modify_targets(p, mode, generator=torch.Generator().manual_seed(seed))
        assert t.shape == p.shape and bool((t >= 0).all())
        assert torch.allclose(t.sum(-1), torch.ones(n, dtype=t.dtype))
        assert torch.equal(t.argmax(-1), top) or mode == "flattened" and bool((p_top <= 1 / v + 1e-12).any())
    assert torch.equal(distill.modify_targets(p, "teacher"), p)
    one = distill.modify_targets(p, "top1")
    assert torch.equal(one.sum(-1), torch.ones(n, dtype=one.dtype)) and torch.equal(one.max(-1).values, torch.ones(n, dtype=one.dtype))
    flat = distill.modify_targets(p, "flattened")
    assert torch.allclose(flat.max(-1).values, p_top)
    rest = flat.clone().scatter_(-1, top[:, None], float("nan"))
    assert torch.allclose(rest.nan_to_num(0).sum(-1), 1 - p_top)
    shuf = distill.modify_targets(p, "shuffled", generator=torch.Generator().manual_seed(seed))
    assert torch.equal(shuf.sort(-1).values, p.sort(-1).values)  # a permutation of each row: same entropy
    assert torch.equal(shuf.gather(-1, top[:, None]), p.gather(-1, top[:, None]))  # the top stays in place


def test_shuffled_really_moves_the_wrong_answers():
    p = _rows(200, 30, 1)
    shuf = distill.modify_targets(p, "shuffled", generator=torch.Generator().manual_seed(0))
    moved = (shuf != p).any(-1).float().mean().item()
    assert moved > 0.99  # a permutation of 29 values is the identity with probability 1/29!
    again = distill.modify_targets(p, "shuffled", generator=torch.Generator().manual_seed(0))
    assert torch.equal(shuf, again)  # and it is reproducible from the generator


def test_smoothed_labels():
    t = distill.smoothed_labels(torch.tensor([1, 0]), 5, 0.2)
    assert torch.allclose(t, torch.tensor([[0.05, 0.8, 0.05, 0.05, 0.05], [0.8, 0.05, 0.05, 0.05, 0.05]]))
    assert torch.equal(distill.smoothed_labels(torch.tensor([2]), 4, 0.0), torch.tensor([[0.0, 0.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="eps"):
        distill.smoothed_labels(torch.tensor([0]), 4, 1.5)


def test_modify_targets_rejects_bad_input():
    with pytest.raises(ValueError, match="mode must be one of"):
        distill.modify_targets(_rows(2, 3, 0), "sharpened")
    with pytest.raises(ValueError, match="probability rows"):
        distill.modify_targets(torch.tensor([[0.5, 0.6]]), "top1")
    with pytest.raises(ValueError, match=r"\[N, V\]"):
        distill.modify_targets(torch.tensor([0.5, 0.5]), "top1")


def test_train_student_with_teacher_targets_is_plain_kd():
    from lecture_lib import tinylm

    teacher = tinylm.load("teacher")
    cfg = tinylm.load("student").config
    text = tinylm.train_text()[:5000]
    kw = dict(steps=3, batch_size=2, T=2.0, alpha=1.0, seed=0, log_every=1, text=text)
    _, plain = distill.train_student(teacher, cfg, **kw)
    _, same = distill.train_student(teacher, cfg, targets=lambda p, _y: distill.modify_targets(p, "teacher"), **kw)
    assert same.soft == pytest.approx(plain.soft, rel=1e-4)
    _, flat = distill.train_student(teacher, cfg, targets=lambda p, _y: distill.modify_targets(p, "flattened"), **kw)
    assert flat.soft[0] != pytest.approx(plain.soft[0], rel=1e-3)  # a different target is a different loss
    _, ls = distill.train_student(None, cfg, targets=lambda _p, y: distill.smoothed_labels(y, cfg.vocab_size, 0.1), **kw)
    assert len(ls.soft) == 3 and all(math.isfinite(v) for v in ls.soft)
