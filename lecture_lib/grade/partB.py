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

from .core import Fail, Mistake, Question, as_array, as_number, as_tensor, describe, first_match, raised
from .judge_messages import say
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
        (say("B.inputs_b1.1"), np.array(LECTURE_LOGITS), 1.0),
        (say("B.inputs_b1.2"), np.array(LECTURE_LOGITS), 5.0),
        (say("B.inputs_b1.3"), rng.normal(0, 3, (4, 7)), 2.5),
        (say("B.inputs_b1.4"), np.array([1000.0, 999.0, 990.0]), 1.0),
        (say("B.inputs_b1.5", v_0_3=0.3), rng.normal(0, 2, 6), 0.3),
    ]}


def probe_b1(ns: Any, inputs: Any) -> Any:
    import torch

    f = get_function(ns, "softmax_t")
    return [call(f, to_torch(z, torch.float64), T) for _label, z, T in inputs["cases"]]




def judge_b1(inputs: Any, result: Any) -> str:
    torch = _torch()
    for (label, z, T), r in zip(inputs["cases"], result):
        raised(r, "softmax_t", label)
        got = as_tensor(r, "softmax_t(...)")
        want = _distill().softmax_t(torch.tensor(z), T).numpy()
        if got.shape != want.shape:
            raise Fail(say("B.judge_b1.1", want_shape=want.shape, got_shape=got.shape, label=label),
                       say("B.judge_b1.2"))
        if not np.isfinite(got).all():
            raise Fail(say("B.judge_b1.3", label=label), say("B.b1_overflow"))
        if not np.allclose(got, want, rtol=1e-6, atol=1e-9):
            zt = torch.tensor(z)
            candidates = {"b1_no_T": torch.softmax(zt, -1), "b1_times_T": torch.softmax(zt * T, -1)}
            if zt.ndim > 1:
                candidates["b1_dim0"] = torch.softmax(zt / T, 0)
            hint = say("B.judge_b1.4")
            for name, value in candidates.items():
                if (name != "b1_no_T" or T != 1) and np.allclose(got, value.numpy(), atol=1e-9):
                    hint = say(f"B.{name}")
                    break
            raise Fail(say("B.judge_b1.5", got_reshape_1_4=np.round(got.reshape(-1)[:4], 4),
                           want_reshape_1_4=np.round(want.reshape(-1)[:4], 4), label=label),
                       hint)
    lect = _distill().softmax_t(torch.tensor(LECTURE_LOGITS, dtype=torch.float64), 5.0).numpy()
    return say("B.judge_b1.6", n_inputs_cases=len(inputs['cases']), lect=np.round(lect, 4).tolist())


WRONG_B1 = """\
e = torch.exp(torch.as_tensor(logits, dtype=torch.float64) / T)
return e / e.sum(dim=-1, keepdim=True)
"""
MISTAKES_B1 = (
    Mistake("no temperature", "z = torch.as_tensor(logits, dtype=torch.float64)\n"
            "e = torch.exp(z - z.amax(dim=-1, keepdim=True))\nreturn e / e.sum(dim=-1, keepdim=True)",
            "B.b1_no_T"),
    Mistake("multiplies by T", "z = torch.as_tensor(logits, dtype=torch.float64) * T\n"
            "e = torch.exp(z - z.amax(dim=-1, keepdim=True))\nreturn e / e.sum(dim=-1, keepdim=True)",
            "B.b1_times_T"),
    Mistake("softmax over dim 0", "z = torch.as_tensor(logits, dtype=torch.float64) / T\nreturn torch.softmax(z, dim=0)",
            "B.b1_dim0"),
    Mistake("no max subtraction (overflow)", WRONG_B1, "B.b1_overflow"),
    Mistake("returns a NumPy array", "import numpy as np\nz = np.asarray(logits, dtype=np.float64) / T\n"
            "e = np.exp(z - z.max(axis=-1, keepdims=True))\nreturn e / e.sum(axis=-1, keepdims=True)",
            "core.as_tensor.1"),
)


# ================================================================================================== B2
#: (N positions, V classes, T, alpha): V != T**2 and N != V everywhere except one case (the F.kl_div trap with
#: 4 classes at T = 2), so each mistake of the table gives its own numbers on the whole set.
B2_SHAPES = ((3, 5, 2.0, 0.5), (4, 6, 4.0, 0.9), (2, 3, 1.0, 0.0), (5, 7, 8.0, 1.0), (3, 4, 2.0, 0.7))


def inputs_b2(rng: np.random.Generator) -> dict[str, Any]:
    cases = []
    for N, V, T, alpha in B2_SHAPES:
        label = say("B.inputs_b2.1", N=N, V=V, T=T, alpha=alpha)
        cases.append((label, rng.normal(0, 2, (N, V)), rng.normal(0, 3, (N, V)),
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


def _kd_mistakes(zs: np.ndarray, zt: np.ndarray, y: np.ndarray, T: float, alpha: float) -> dict[str, float]:
    """The value of each mistake of the table on one case (float64)."""
    torch = _torch()
    F = torch.nn.functional
    s, t, labels = torch.tensor(zs), torch.tensor(zt), torch.tensor(y)

    def kl(ls: Any, lt: Any, reduce: str = "batchmean") -> Any:  # KL(p_t || p_s) from log-probabilities
        el = lt.exp() * (lt - ls)
        return {"batchmean": el.sum(-1).mean(), "mean": el.mean(), "sum": el.sum()}[reduce]

    ce = F.cross_entropy(s, labels)
    ls, lt = F.log_softmax(s / T, -1), F.log_softmax(t / T, -1)
    soft = kl(ls, lt)
    values = {
        "b2_no_T2": alpha * soft + (1 - alpha) * ce,
        "b2_kl_mean": alpha * T**2 * kl(ls, lt, "mean") + (1 - alpha) * ce,
        "b2_kl_mean_no_T2": alpha * kl(ls, lt, "mean") + (1 - alpha) * ce,
        "b2_kl_sum": alpha * T**2 * kl(ls, lt, "sum") + (1 - alpha) * ce,
        "b2_reversed": alpha * T**2 * kl(lt, ls) + (1 - alpha) * ce,
        "b2_dim0": alpha * T**2 * kl(F.log_softmax(s / T, 0), F.log_softmax(t / T, 0)) + (1 - alpha) * ce,
        "b2_no_T_inside": alpha * T**2 * kl(F.log_softmax(s, -1), F.log_softmax(t, -1)) + (1 - alpha) * ce,
        "b2_alpha_swapped": (1 - alpha) * T**2 * soft + alpha * ce,
        "b2_ce_at_T": alpha * T**2 * soft + (1 - alpha) * F.cross_entropy(s / T, labels),
    }
    return {name: float(v) for name, v in values.items()}


def judge_b2(inputs: Any, result: Any) -> str:
    torch = _torch()
    wants, gots = [], []
    for (label, zs, zt, y, T, alpha), (r, _grad) in zip(inputs["cases"], result):
        raised(r, "kd_loss", label)
        gots.append(as_number(r, "kd_loss(...)"))
        wants.append(float(_distill().distillation_loss(torch.tensor(zs), torch.tensor(zt), torch.tensor(y),
                                                        T=T, alpha=alpha)))
    bad = [k for k, (g, w) in enumerate(zip(gots, wants)) if not math.isclose(g, w, rel_tol=1e-6, abs_tol=1e-9)]
    if bad:
        per_case = [_kd_mistakes(*case[1:]) for case in inputs["cases"]]
        found = first_match(gots, {name: [c[name] for c in per_case] for name in per_case[0]})
        hint = say(f"B.{found}") if found else (
            say("B.judge_b2.1"))
        k = bad[0]
        raise Fail(say("B.judge_b2.2", wants_k=wants[k], gots_k=gots[k], label=inputs['cases'][k][0]), hint)
    for (label, zs, zt, y, T, alpha), (r, grad) in zip(inputs["cases"], result):
        s = torch.tensor(zs).requires_grad_(True)
        _distill().distillation_loss(s, torch.tensor(zt), torch.tensor(y), T=T, alpha=alpha).backward()
        if grad is None or isinstance(grad, str):
            raise Fail(say("B.judge_b2.3", value1=describe(r) if grad is None else grad, label=label),
                       say("B.judge_b2.4"))
        if not np.allclose(as_array(grad, "gradient"), s.grad.numpy(), rtol=1e-6, atol=1e-10):
            raise Fail(say("B.judge_b2.5", label=label), say("B.b2_detached"))
    return say("B.judge_b2.6", n_inputs_cases=len(inputs['cases']))


def _kd_code(kl: str = "kl = (log_pt.exp() * (log_pt - log_ps)).sum(dim=-1).mean()",
             ret: str = "return alpha * T**2 * kl + (1 - alpha) * ce", dim: int = -1, div: str = " / T",
             ce: str = "ce = torch.nn.functional.cross_entropy(student_logits, labels)",
             student: str = "student_logits") -> str:
    return (f"log_ps = torch.log_softmax({student}{div}, dim={dim})\n"
            f"log_pt = torch.log_softmax(teacher_logits.detach(){div}, dim={dim})\n{kl}\n{ce}\n{ret}\n")


WRONG_B2 = _kd_code(ret="return alpha * kl + (1 - alpha) * ce")
_KL_DIV = "kl = torch.nn.functional.kl_div(log_ps, log_pt.exp(){})"
MISTAKES_B2 = (
    Mistake("no T**2", WRONG_B2, "B.b2_no_T2"),
    Mistake("F.kl_div default reduction, with T**2", _kd_code(kl=_KL_DIV.format("")), "B.b2_kl_mean"),
    Mistake("F.kl_div default reduction, no T**2", _kd_code(kl=_KL_DIV.format(""),
            ret="return alpha * kl + (1 - alpha) * ce"), "B.b2_kl_mean_no_T2"),
    Mistake("KL summed over positions", _kd_code(kl=_KL_DIV.format(", reduction='sum'")), "B.b2_kl_sum"),
    Mistake("KL(student || teacher)", _kd_code(kl="kl = (log_ps.exp() * (log_ps - log_pt)).sum(dim=-1).mean()"),
            "B.b2_reversed"),
    Mistake("softmax over the positions", _kd_code(dim=0), "B.b2_dim0"),
    Mistake("no temperature inside the softmax", _kd_code(div=""), "B.b2_no_T_inside"),
    Mistake("alpha on the wrong term", _kd_code(ret="return (1 - alpha) * T**2 * kl + alpha * ce"),
            "B.b2_alpha_swapped"),
    Mistake("cross-entropy at temperature T",
            _kd_code(ce="ce = torch.nn.functional.cross_entropy(student_logits / T, labels)"), "B.b2_ce_at_T"),
    Mistake("student detached", _kd_code(student="student_logits.detach()"), "B.b2_detached"),
)


# ================================================================================================== B3
def inputs_b3(rng: np.random.Generator) -> dict[str, Any]:
    V = int(rng.integers(4, 12))
    return {"cases": [
        (say("B.inputs_b3.1"), np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.5, 0.3])),
        (say("B.inputs_b3.2", V=V), _dist(rng, V), _dist(rng, V)),
        (say("B.inputs_b3.3"), np.array([0.6, 0.4, 0.0]), np.array([0.0, 0.5, 0.5])),
        (say("B.inputs_b3.4"), np.array([0.25, 0.25, 0.5]), np.array([0.25, 0.25, 0.5])),
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
            hint = say("B.judge_b3.1")
            raw = np.maximum(0, p - q)
            if got.shape == want.shape and np.isfinite(got).all() and np.allclose(got, raw, atol=1e-9):
                hint = say("B.judge_b3.2")
            elif not np.isfinite(got).all():
                hint = say("B.judge_b3.3")
            elif got.shape == want.shape and np.allclose(got, np.abs(p - q) / np.abs(p - q).sum(), atol=1e-9):
                hint = say("B.judge_b3.4")
            elif got.shape == want.shape and np.maximum(0, q - p).sum() > 0 and np.allclose(
                    got, np.maximum(0, q - p) / np.maximum(0, q - p).sum(), atol=1e-9):
                hint = say("B.judge_b3.5")
            raise Fail(say("B.judge_b3.6", want=np.round(want, 4).tolist(),
                           value2=np.round(got, 4).tolist() if got.size < 20 else describe(r), label=label), hint)
    return say("B.judge_b3.7", n_inputs_cases=len(inputs['cases']))


WRONG_B3 = """\
return (torch.as_tensor(p) - torch.as_tensor(q)).clamp(min=0)
"""
MISTAKES_B3 = (
    Mistake("not normalized", WRONG_B3, "B.judge_b3.2"),
    Mistake("no fallback when p == q", "r = (torch.as_tensor(p) - torch.as_tensor(q)).clamp(min=0)\nreturn r / r.sum()",
            "B.judge_b3.3"),
    Mistake("|p - q| instead of max(0, p - q)", "r = (torch.as_tensor(p) - torch.as_tensor(q)).abs()\n"
            "return r / r.sum() if float(r.sum()) > 0 else torch.as_tensor(p)", "B.judge_b3.4"),
    Mistake("q - p", "r = (torch.as_tensor(q) - torch.as_tensor(p)).clamp(min=0)\n"
            "return r / r.sum() if float(r.sum()) > 0 else torch.as_tensor(p)", "B.judge_b3.5"),
)


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
        (say("B.inputs_b4.1"), [0, 1], np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2]]),
         np.array([[0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.1, 0.2, 0.7]]), [0.1, 0.1], 0.35),
        # first token rejected: p/q = 0.2/0.5 = 0.4 < u = 0.9 -> residual of row 0 = [1, 0, 0] (p - q = [0.3, -0.3, 0])
        (say("B.inputs_b4.2"), [1, 0], np.array([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]]),
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
            cases.append((say("B.inputs_b4.3", len_cases_1=len(cases) - 1, k=k, V=V), tokens, q, p, u, v))
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
            raise Fail(say("B.judge_b4.1", describe_r=describe(r), label=label),
                       say("B.judge_b4.2"))
        want, _ = _ref_verify(tokens, q, p, u, v)
        if list(r) != want:
            hint = (say("B.judge_b4.3"))
            if list(r) == want[:-1] or len(r) == len(want) - 1:
                hint = say("B.judge_b4.4")
            elif len(r) == len(want) and r[-1] != want[-1]:
                hint = (say("B.judge_b4.5"))
            raise Fail(say("B.judge_b4.6", want=want, r=list(r), label=label), hint)
    return say("B.judge_b4.7", n_inputs_cases=len(inputs['cases']))


WRONG_B4_LAST_FROM_P = """\
out = []
for i, x in enumerate(draft_tokens):
    if u[i] < float(p[i, x] / q[i, x]):
        out.append(int(x))
        continue
    cdf = torch.cumsum(p[i], 0)
    out.append(int(torch.searchsorted(cdf, torch.tensor(v, dtype=cdf.dtype), right=True)))
    return out
cdf = torch.cumsum(p[len(draft_tokens)], 0)
out.append(int(torch.searchsorted(cdf, torch.tensor(v, dtype=cdf.dtype), right=True)))
return out
"""
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
MISTAKES_B4 = (
    Mistake("no bonus token", WRONG_B4, "B.judge_b4.4"),
    Mistake("correction drawn from p", WRONG_B4_LAST_FROM_P, "B.judge_b4.5"),
)


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
        raised(r, "expected_tokens", label, say("B.judge_b5.1"))
        got = as_number(r, "expected_tokens(...)")
        want = _spec().expected_tokens_per_step(a, k)
        if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
            hint = say("B.judge_b5.2")
            if math.isclose(got, want - 1, rel_tol=1e-9, abs_tol=1e-12):
                hint = say("B.judge_b5.3")
            elif a < 1 and math.isclose(got, 1 / (1 - a), rel_tol=1e-9):
                hint = say("B.judge_b5.4")
            raise Fail(say("B.judge_b5.5", a=a, k=k, want=want, got=got), hint)
    return say("B.judge_b5.6", n_inputs_cases=len(inputs['cases']))


WRONG_B5 = """\
if alpha == 1:
    return float(k)
return alpha * (1 - alpha ** k) / (1 - alpha)
"""
MISTAKES_B5 = (
    Mistake("accepted tokens only", WRONG_B5, "B.judge_b5.3"),
    Mistake("the k -> infinity limit", "return 1 / (1 - alpha) if alpha < 1 else float(k + 1)", "B.judge_b5.4"),
    Mistake("alpha = 1 not handled", "return (1 - alpha ** (k + 1)) / (1 - alpha)", "B.judge_b5.1"),
)


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
        raised(r, "speedup", label, say("B.judge_b6.1"))
        got = as_number(r, "speedup(...)")
        want = _spec().expected_speedup(a, k, c)
        if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
            tokens = _spec().expected_tokens_per_step(a, k)
            hint = say("B.judge_b6.2")
            if math.isclose(got, tokens / (1 + c), rel_tol=1e-9):
                hint = say("B.judge_b6.3")
            elif math.isclose(got, tokens, rel_tol=1e-9) and c > 0:
                hint = say("B.judge_b6.4")
            raise Fail(say("B.judge_b6.5", a=a, k=k, c=c, want=want, got=got), hint)
    return say("B.judge_b6.6", n_inputs_cases=len(inputs['cases']))


WRONG_B6 = """\
tokens = (k + 1) if alpha == 1 else (1 - alpha ** (k + 1)) / (1 - alpha)
return tokens / (1 + c)
"""
MISTAKES_B6 = (
    Mistake("one draft call per step", WRONG_B6, "B.judge_b6.3"),
    Mistake("draft cost ignored", "return (k + 1) if alpha == 1 else (1 - alpha ** (k + 1)) / (1 - alpha)",
            "B.judge_b6.4"),
    Mistake("alpha = 1 not handled", "return (1 - alpha ** (k + 1)) / (1 - alpha) / (k * c + 1)",
            "B.judge_b6.1"),
)


# ================================================================================================== B7
def inputs_b7(rng: np.random.Generator) -> dict[str, Any]:
    V = int(rng.integers(4, 20))
    return {"cases": [
        (say("B.inputs_b7.1"), np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.5, 0.3])),
        (say("B.inputs_b7.2"), np.array([0.1, 0.9]), np.array([0.1, 0.9])),
        (say("B.inputs_b7.3"), np.array([1.0, 0.0]), np.array([0.0, 1.0])),
        (say("B.inputs_b7.4", V=V), _dist(rng, V), _dist(rng, V)),
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
            hint = say("B.judge_b7.1")
            if math.isclose(got, 1 - np.abs(p - q).sum(), abs_tol=1e-9):
                hint = say("B.judge_b7.2")
            elif math.isclose(got, np.maximum(p, q).sum(), abs_tol=1e-9):
                hint = say("B.judge_b7.3")
            elif math.isclose(got, float(np.sum(q * p / np.where(q > 0, q, 1))), abs_tol=1e-9):
                hint = say("B.judge_b7.4")
            raise Fail(say("B.judge_b7.5", want=want, got=got, label=label), hint)
    return say("B.judge_b7.6", n_inputs_cases=len(inputs['cases']))


WRONG_B7 = """\
return float(1 - (torch.as_tensor(p) - torch.as_tensor(q)).abs().sum())
"""
MISTAKES_B7 = (
    Mistake("1 - L1 instead of 1 - TV", WRONG_B7, "B.judge_b7.2"),
    Mistake("max instead of min", "return float(torch.maximum(torch.as_tensor(p), torch.as_tensor(q)).sum())",
            "B.judge_b7.3"),
    Mistake("ratio not capped at 1", "p, q = torch.as_tensor(p), torch.as_tensor(q)\n"
            "return float((q * torch.where(q > 0, p / q, torch.zeros_like(p))).sum())", "B.judge_b7.4"),
)


QUESTIONS = [
    Question("B1", 1, "softmax at a temperature", inputs_b1, probe_b1, judge_b1, wrong_answers={0: WRONG_B1},
             mistakes=MISTAKES_B1),
    Question("B2", 2, "the KD loss with T²", inputs_b2, probe_b2, judge_b2, wrong_answers={0: WRONG_B2},
             mistakes=MISTAKES_B2),
    Question("B3", 2, "the residual distribution", inputs_b3, probe_b3, judge_b3, wrong_answers={0: WRONG_B3},
             mistakes=MISTAKES_B3),
    Question("B4", 3, "one verify step", inputs_b4, probe_b4, judge_b4, wrong_answers={0: WRONG_B4},
             mistakes=MISTAKES_B4),
    Question("B5", 1, "expected tokens per target call", inputs_b5, probe_b5, judge_b5, wrong_answers={0: WRONG_B5},
             mistakes=MISTAKES_B5),
    Question("B6", 1, "speedup with a draft cost", inputs_b6, probe_b6, judge_b6, wrong_answers={0: WRONG_B6},
             mistakes=MISTAKES_B6),
    Question("B7", 1, "acceptance rate of a draft", inputs_b7, probe_b7, judge_b7, wrong_answers={0: WRONG_B7},
             mistakes=MISTAKES_B7),
]
