"""Checks for Part B (distillation, speculative decoding): ``solutions/partB_distillation_speculative_solutions.ipynb`` /
``exercises/partB_distillation_speculative_exercises.ipynb``.

B1  softmax at a temperature                 ``softmax_t(logits, T) -> probabilities over the last dim``
B2  the knowledge-distillation loss          ``kd_loss(student_logits, teacher_logits, labels, T, alpha)``
B3  the residual distribution                ``residual(p, q) -> max(0, p - q) / sum``
B4  one verify step, uniforms given          ``verify_step(draft_tokens, q, p, u, v) -> list[int]``
B5  expected tokens per target call          ``expected_tokens(alpha, k)``
B6  speedup with a draft cost                ``speedup(alpha, k, c)``
B7  acceptance rate of a draft               ``acceptance_rate(p, q) = sum_x min(p(x), q(x))``

The judges compare with :mod:`lecture_lib.distill` (``softmax_t``, ``distillation_loss`` and its autograd
gradient) and :mod:`lecture_lib.speculative` (``residual_distribution``, ``expected_tokens_per_step``,
``expected_speedup``, ``acceptance_probability``). B4 is made deterministic by passing the random numbers in:
``u[i]`` decides draft token i (accept iff ``u[i] < p_i(x_i) / q_i(x_i)``) and ``v`` picks the final token by
inverse CDF (the first index whose cumulative probability exceeds ``v``); the cases keep every ``u`` and ``v``
away from a decision boundary, so float rounding cannot change the answer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import Fail, Question, as_array, as_number, describe, raised
from .probe_runtime import Arr, call, get_function, to_torch

__all__ = ["QUESTIONS"]

LECTURE_LOGITS = (5.0, 3.5, 0.2)


def _torch() -> Any:
    import torch

    return torch


def _distill() -> Any:
    from lecture_lib import distill

    return distill


def _spec() -> Any:
    from lecture_lib import speculative

    return speculative


def _dist(rng: np.random.Generator, V: int, sharp: float = 1.0) -> np.ndarray:
    p = rng.dirichlet(np.full(V, sharp))
    return p / p.sum()


# ================================================================================================== B1
def inputs_b1(rng: np.random.Generator) -> dict[str, Any]:
    return {"cases": [
        ("the lecture's logits [5.0, 3.5, 0.2] at T = 1", np.array(LECTURE_LOGITS), 1.0),
        ("the lecture's logits [5.0, 3.5, 0.2] at T = 5", np.array(LECTURE_LOGITS), 5.0),
        ("a random [4, 7] batch at T = 2.5", rng.normal(0, 3, (4, 7)), 2.5),
        ("large logits [1000, 999, 990] at T = 1", np.array([1000.0, 999.0, 990.0]), 1.0),
        (f"a random vector at T = {0.3:g} (sharper than T = 1)", rng.normal(0, 2, 6), 0.3),
    ]}


def probe_b1(ns: Any, inputs: Any) -> Any:
    import torch

    f = get_function(ns, "softmax_t")
    return [call(f, to_torch(z, torch.float64), T) for _label, z, T in inputs["cases"]]


def judge_b1(inputs: Any, result: Any) -> str:
    torch = _torch()
    for (label, z, T), r in zip(inputs["cases"], result):
        raised(r, "softmax_t", label)
        got = as_array(r, "softmax_t(...)")
        want = _distill().softmax_t(torch.tensor(z), T).numpy()
        if got.shape != want.shape:
            raise Fail(f"softmax_t must keep the logits' shape {want.shape}; got {got.shape} for {label}",
                       "normalize over the last dim only: sum(dim=-1, keepdim=True)")
        if not np.isfinite(got).all():
            raise Fail(f"softmax_t must return finite probabilities; got NaN/inf for {label}",
                       "exp(1000) overflows: subtract the row's max logit before exp (softmax does not change)")
        if not np.allclose(got, want, rtol=1e-6, atol=1e-9):
            hint = "p_i = exp(z_i / T) / sum_j exp(z_j / T): divide the logits by T before the exponential"
            soft1 = torch.softmax(torch.tensor(z), -1).numpy()
            if np.allclose(got, soft1, atol=1e-9) and T != 1:
                hint = "T was not used: divide the logits by T before the softmax"
            raise Fail(f"softmax_t must equal exp(z/T)/sum exp(z/T); got {np.round(got.reshape(-1)[:4], 4)} "
                       f"instead of {np.round(want.reshape(-1)[:4], 4)} for {label}", hint)
    lect = _distill().softmax_t(torch.tensor(LECTURE_LOGITS, dtype=torch.float64), 5.0).numpy()
    return f"softmax_t matches on {len(inputs['cases'])} cases (lecture logits at T = 5: {np.round(lect, 4).tolist()})"


WRONG_B1 = """\
e = torch.exp(torch.as_tensor(logits, dtype=torch.float64) / T)
return e / e.sum(dim=-1, keepdim=True)
"""


# ================================================================================================== B2
def inputs_b2(rng: np.random.Generator) -> dict[str, Any]:
    cases = []
    for label, T, alpha in (("T = 2, alpha = 0.5", 2.0, 0.5), ("T = 4, alpha = 0.9", 4.0, 0.9),
                            ("T = 1, alpha = 0 (plain cross-entropy)", 1.0, 0.0), ("T = 8, alpha = 1 (soft term only)", 8.0, 1.0)):
        N, V = int(rng.integers(2, 6)), int(rng.integers(3, 9))
        cases.append((f"{N} positions, {V} classes, {label}", rng.normal(0, 2, (N, V)), rng.normal(0, 3, (N, V)),
                      rng.integers(0, V, N).astype(np.int64), T, alpha))
    return {"cases": cases}


def probe_b2(ns: Any, inputs: Any) -> Any:
    import torch

    f = get_function(ns, "kd_loss")
    out = []
    for _label, zs, zt, y, T, alpha in inputs["cases"]:
        s = to_torch(zs, torch.float64).requires_grad_(True)
        loss = call(f, s, to_torch(zt, torch.float64), to_torch(y), T, alpha)
        grad = None
        if isinstance(loss, torch.Tensor) and loss.requires_grad and loss.numel() == 1:
            try:
                loss.reshape(()).backward()
                grad = s.grad
            except Exception as err:  # noqa: BLE001 - reported to the judge
                grad = f"{type(err).__name__}: {err}"
        out.append((loss.detach() if isinstance(loss, torch.Tensor) else loss, grad))
    return out


def judge_b2(inputs: Any, result: Any) -> str:
    torch = _torch()
    for (label, zs, zt, y, T, alpha), (r, grad) in zip(inputs["cases"], result):
        raised(r, "kd_loss", label)
        got = as_number(r, "kd_loss(...)")
        s = torch.tensor(zs).requires_grad_(True)
        want_t = _distill().distillation_loss(s, torch.tensor(zt), torch.tensor(y), T=T, alpha=alpha)
        want_t.backward()
        want = float(want_t.detach())
        if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
            hint = "L = alpha * T**2 * KL(softmax(z_T/T) || softmax(z_S/T)) + (1 - alpha) * CE(z_S, labels)"
            soft = float(_distill().distillation_loss(torch.tensor(zs), torch.tensor(zt), T=T))
            ce = float(torch.nn.functional.cross_entropy(torch.tensor(zs), torch.tensor(y)))
            if alpha > 0 and T != 1 and math.isclose(got, alpha * soft / T**2 + (1 - alpha) * ce, rel_tol=1e-6):
                hint = "multiply the KL term by T**2 (Hinton: the soft gradients shrink like 1/T**2 otherwise)"
            elif alpha > 0 and math.isclose(got, alpha * soft * zs.shape[0] + (1 - alpha) * ce, rel_tol=1e-6):
                hint = "average the KL over the positions (batchmean), do not sum it"
            raise Fail(f"kd_loss must be {want:.6g}; got {got:.6g} for {label}", hint)
        if grad is None or isinstance(grad, str):
            raise Fail(f"kd_loss must be a differentiable torch scalar (autograd to the student logits); "
                       f"got {describe(r) if grad is None else grad} for {label}",
                       "compute it with torch operations on student_logits (no .item(), .numpy() or float())")
        if not np.allclose(as_array(grad, "gradient"), s.grad.numpy(), rtol=1e-6, atol=1e-10):
            raise Fail(f"the gradient of kd_loss w.r.t. the student logits must be alpha*T*(p_S - p_T)/N + CE part; "
                       f"it differs for {label}", "do not detach the student logits; detach the teacher's only")
    return f"kd_loss and its gradient match on {len(inputs['cases'])} cases"


WRONG_B2 = """\
log_ps = torch.log_softmax(student_logits / T, dim=-1)
log_pt = torch.log_softmax(teacher_logits.detach() / T, dim=-1)
kl = (log_pt.exp() * (log_pt - log_ps)).sum(dim=-1).mean()
ce = torch.nn.functional.cross_entropy(student_logits, labels)
return alpha * kl + (1 - alpha) * ce
"""


# ================================================================================================== B3
def inputs_b3(rng: np.random.Generator) -> dict[str, Any]:
    V = int(rng.integers(4, 12))
    return {"cases": [
        ("the lecture's p = [0.5, 0.3, 0.2], q = [0.2, 0.5, 0.3]", np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.5, 0.3])),
        (f"random p and q over {V} tokens", _dist(rng, V), _dist(rng, V)),
        ("q(x) = 0 for a token p likes", np.array([0.6, 0.4, 0.0]), np.array([0.0, 0.5, 0.5])),
        ("p == q (the residual is all zero: return p)", np.array([0.25, 0.25, 0.5]), np.array([0.25, 0.25, 0.5])),
    ]}


def probe_b3(ns: Any, inputs: Any) -> Any:
    import torch

    f = get_function(ns, "residual")
    return [call(f, to_torch(p, torch.float64), to_torch(q, torch.float64)) for _label, p, q in inputs["cases"]]


def judge_b3(inputs: Any, result: Any) -> str:
    for (label, p, q), r in zip(inputs["cases"], result):
        raised(r, "residual", label)
        got = as_array(r, "residual(p, q)")
        want = _spec().residual_distribution(p, q).numpy()
        if got.shape != want.shape or not np.isfinite(got).all() or not np.allclose(got, want, atol=1e-9):
            hint = "residual = max(0, p - q) / sum(max(0, p - q)); when that sum is 0 (p == q) return p"
            raw = np.maximum(0, p - q)
            if got.shape == want.shape and np.isfinite(got).all() and np.allclose(got, raw, atol=1e-9):
                hint = "normalize: divide max(0, p - q) by its sum so the residual is a distribution"
            elif not np.isfinite(got).all():
                hint = "p == q gives 0/0: return p when the residual's sum is 0"
            elif got.shape == want.shape and np.allclose(got, np.abs(p - q) / np.abs(p - q).sum(), atol=1e-9):
                hint = "use max(0, p - q), not |p - q|: only tokens the draft under-proposes get the mass"
            raise Fail(f"residual must be {np.round(want, 4).tolist()}; got "
                       f"{np.round(got, 4).tolist() if got.size < 20 else describe(r)} for {label}", hint)
    return f"residual matches on {len(inputs['cases'])} cases ([0.5, 0.3, 0.2] vs [0.2, 0.5, 0.3] -> [1, 0, 0])"


WRONG_B3 = """\
return (torch.as_tensor(p) - torch.as_tensor(q)).clamp(min=0)
"""


# ================================================================================================== B4
def _ref_verify(tokens: list[int], q: np.ndarray, p: np.ndarray, u: list[float], v: float) -> tuple[list[int], float]:
    """Reference verify step with given uniforms; also the distance of every random number to its boundary."""
    spec = _spec()
    margin = math.inf
    out: list[int] = []
    for i, x in enumerate(tokens):
        ratio = p[i, x] / q[i, x] if q[i, x] > 0 else 0.0
        margin = min(margin, abs(u[i] - ratio))
        if u[i] < ratio:
            out.append(int(x))
            continue
        dist = spec.residual_distribution(p[i], q[i]).numpy()
        break
    else:
        dist = p[len(tokens)]
    cdf = np.cumsum(dist)
    margin = min(margin, float(np.abs(cdf[:-1] - v).min()) if cdf.size > 1 else math.inf)
    out.append(int(np.searchsorted(cdf, v, side="right")))
    return out, margin


def inputs_b4(rng: np.random.Generator) -> dict[str, Any]:
    cases = [
        # all accepted (p/q = 1.2 and 0.83 > u = 0.1) -> bonus token from row k: cdf [0.1, 0.3, 1.0], v = 0.35 -> 2
        ("all 2 draft tokens accepted (bonus token)", [0, 1], np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2]]),
         np.array([[0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.1, 0.2, 0.7]]), [0.1, 0.1], 0.35),
        # first token rejected: p/q = 0.2/0.5 = 0.4 < u = 0.9 -> residual of row 0 = [1, 0, 0] (p - q = [0.3, -0.3, 0])
        ("the first draft token rejected", [1, 0], np.array([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]]),
         np.array([[0.5, 0.2, 0.3], [0.4, 0.4, 0.2], [0.3, 0.3, 0.4]]), [0.9, 0.1], 0.5),
    ]
    while len(cases) < 6:
        V, k = int(rng.integers(3, 8)), int(rng.integers(1, 5))
        q = np.stack([_dist(rng, V) for _ in range(k)])
        p = np.stack([_dist(rng, V) for _ in range(k + 1)])
        tokens = [int(rng.choice(V, p=q[i])) for i in range(k)]
        u = [float(x) for x in rng.random(k)]
        v = float(rng.random())
        if _ref_verify(tokens, q, p, u, v)[1] > 1e-6:
            cases.append((f"random case {len(cases) - 1}: k = {k}, {V} tokens", tokens, q, p, u, v))
    return {"cases": cases}


def probe_b4(ns: Any, inputs: Any) -> Any:
    import torch

    f = get_function(ns, "verify_step")
    return [call(f, list(tokens), to_torch(q, torch.float64), to_torch(p, torch.float64), list(u), v)
            for _label, tokens, q, p, u, v in inputs["cases"]]


def judge_b4(inputs: Any, result: Any) -> str:
    for (label, tokens, q, p, u, v), r in zip(inputs["cases"], result):
        raised(r, "verify_step", label)
        if isinstance(r, Arr):
            r = r.value.tolist()
        if not isinstance(r, (list, tuple)) or not all(isinstance(x, int) and not isinstance(x, bool) for x in r):
            raise Fail(f"verify_step must return a list of int token ids; got {describe(r)} for {label}",
                       "convert tensor elements with int(...)")
        want, _ = _ref_verify(tokens, q, p, u, v)
        if list(r) != want:
            hint = ("accept draft token i iff u[i] < p[i, x_i] / q[i, x_i]; at the first rejection append one token "
                    "drawn from the residual of row i by inverse CDF with v, and stop; if all are accepted, "
                    "append the bonus token drawn from p[k]")
            if list(r) == want[:-1] or len(r) == len(want) - 1:
                hint = "every verify step emits one token more than it accepts: the corrected or the bonus token"
            elif len(r) == len(want) and r[-1] != want[-1]:
                hint = ("the last token: from the residual max(0, p_i - q_i) normalized after a rejection, from "
                        "p[k] when all k are accepted; inverse CDF = first index whose cumulative sum exceeds v")
            raise Fail(f"verify_step must return {want}; got {list(r)} for {label}", hint)
    return f"verify_step matches on {len(inputs['cases'])} cases"


WRONG_B4 = """\
out = []
for i, x in enumerate(draft_tokens):
    if u[i] < float(p[i, x] / q[i, x]):
        out.append(int(x))
        continue
    r = (p[i] - q[i]).clamp(min=0)
    r = r / r.sum() if float(r.sum()) > 0 else p[i]
    out.append(int(torch.searchsorted(torch.cumsum(r, 0), torch.tensor(v, dtype=r.dtype), right=True)))
    return out
return out
"""


# ================================================================================================== B5 / B6
def inputs_b5(rng: np.random.Generator) -> dict[str, Any]:
    cases = [(0.6, 4), (0.8, 4), (0.9, 4), (0.0, 3), (1.0, 5), (0.5, 0)]
    cases += [(float(rng.uniform(0.05, 0.99)), int(rng.integers(1, 12))) for _ in range(4)]
    return {"cases": cases}


def probe_b5(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "expected_tokens")
    return [call(f, a, k) for a, k in inputs["cases"]]


def judge_b5(inputs: Any, result: Any) -> str:
    for (a, k), r in zip(inputs["cases"], result):
        label = f"alpha = {a:.4g}, k = {k}"
        raised(r, "expected_tokens", label, "alpha = 1 divides 0 by 0: every draft token is accepted, so k + 1")
        got = as_number(r, "expected_tokens(...)")
        want = _spec().expected_tokens_per_step(a, k)
        if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
            hint = "E[tokens per target call] = (1 - alpha**(k+1)) / (1 - alpha), and k + 1 at alpha = 1"
            if math.isclose(got, want - 1, rel_tol=1e-9, abs_tol=1e-12):
                hint = "count the token the target adds itself (corrected or bonus): accepted + 1"
            elif a < 1 and math.isclose(got, 1 / (1 - a), rel_tol=1e-9):
                hint = "that is the k -> infinity limit; use the finite-k formula"
            raise Fail(f"expected_tokens({a:.4g}, {k}) must be {want:.6g}; got {got:.6g}", hint)
    return f"expected_tokens matches on {len(inputs['cases'])} cases (alpha = 0.8, k = 4: 3.3616)"


WRONG_B5 = """\
if alpha == 1:
    return float(k)
return alpha * (1 - alpha ** k) / (1 - alpha)
"""


def inputs_b6(rng: np.random.Generator) -> dict[str, Any]:
    cases = [(0.9, 4, 0.05), (0.8, 4, 0.0), (0.6, 2, 1.0), (1.0, 3, 0.1)]
    cases += [(float(rng.uniform(0.05, 0.99)), int(rng.integers(1, 10)), float(rng.uniform(0, 1))) for _ in range(4)]
    return {"cases": cases}


def probe_b6(ns: Any, inputs: Any) -> Any:
    f = get_function(ns, "speedup")
    return [call(f, a, k, c) for a, k, c in inputs["cases"]]


def judge_b6(inputs: Any, result: Any) -> str:
    for (a, k, c), r in zip(inputs["cases"], result):
        label = f"alpha = {a:.4g}, k = {k}, c = {c:.4g}"
        raised(r, "speedup", label, "alpha = 1: (1 - alpha**(k+1)) / (1 - alpha) is k + 1")
        got = as_number(r, "speedup(...)")
        want = _spec().expected_speedup(a, k, c)
        if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
            tokens = _spec().expected_tokens_per_step(a, k)
            hint = "speedup = tokens per step / cost per step = (1 - alpha**(k+1)) / ((1 - alpha) (k c + 1))"
            if math.isclose(got, tokens / (1 + c), rel_tol=1e-9):
                hint = "a step runs the draft k times: its cost is k*c + 1 target calls, not 1 + c"
            elif math.isclose(got, tokens, rel_tol=1e-9) and c > 0:
                hint = "divide by the cost of a step, k*c + 1 target calls"
            raise Fail(f"speedup({a:.4g}, {k}, {c:.4g}) must be {want:.6g}; got {got:.6g}", hint)
    return f"speedup matches on {len(inputs['cases'])} cases (alpha = 0.9, k = 4, c = 0.05: 3.41x)"


WRONG_B6 = """\
tokens = (k + 1) if alpha == 1 else (1 - alpha ** (k + 1)) / (1 - alpha)
return tokens / (1 + c)
"""


# ================================================================================================== B7
def inputs_b7(rng: np.random.Generator) -> dict[str, Any]:
    V = int(rng.integers(4, 20))
    return {"cases": [
        ("the lecture's p = [0.5, 0.3, 0.2], q = [0.2, 0.5, 0.3]", np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.5, 0.3])),
        ("p == q", np.array([0.1, 0.9]), np.array([0.1, 0.9])),
        ("disjoint supports", np.array([1.0, 0.0]), np.array([0.0, 1.0])),
        (f"random p and q over {V} tokens", _dist(rng, V), _dist(rng, V)),
    ]}


def probe_b7(ns: Any, inputs: Any) -> Any:
    import torch

    f = get_function(ns, "acceptance_rate")
    return [call(f, to_torch(p, torch.float64), to_torch(q, torch.float64)) for _label, p, q in inputs["cases"]]


def judge_b7(inputs: Any, result: Any) -> str:
    for (label, p, q), r in zip(inputs["cases"], result):
        raised(r, "acceptance_rate", label)
        got = as_number(r, "acceptance_rate(p, q)")
        want = float(_spec().acceptance_probability(p, q))
        if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
            hint = "alpha = sum_x q(x) min(1, p(x)/q(x)) = sum_x min(p(x), q(x)) = 1 - TV(p, q)"
            if math.isclose(got, 1 - np.abs(p - q).sum(), abs_tol=1e-9):
                hint = "total variation is HALF the L1 distance: alpha = 1 - 0.5 * sum |p - q|"
            raise Fail(f"acceptance_rate must be {want:.6g}; got {got:.6g} for {label}", hint)
    return f"acceptance_rate matches on {len(inputs['cases'])} cases (the lecture's example: 0.7)"


WRONG_B7 = """\
return float(1 - (torch.as_tensor(p) - torch.as_tensor(q)).abs().sum())
"""


QUESTIONS = [
    Question("B1", 1, "softmax at a temperature", inputs_b1, probe_b1, judge_b1, wrong_answers={0: WRONG_B1}),
    Question("B2", 2, "the KD loss with T²", inputs_b2, probe_b2, judge_b2, wrong_answers={0: WRONG_B2}),
    Question("B3", 2, "the residual distribution", inputs_b3, probe_b3, judge_b3, wrong_answers={0: WRONG_B3}),
    Question("B4", 3, "one verify step", inputs_b4, probe_b4, judge_b4, wrong_answers={0: WRONG_B4}),
    Question("B5", 1, "expected tokens per target call", inputs_b5, probe_b5, judge_b5, wrong_answers={0: WRONG_B5}),
    Question("B6", 1, "speedup with a draft cost", inputs_b6, probe_b6, judge_b6, wrong_answers={0: WRONG_B6}),
    Question("B7", 1, "acceptance rate of a draft", inputs_b7, probe_b7, judge_b7, wrong_answers={0: WRONG_B7}),
]
