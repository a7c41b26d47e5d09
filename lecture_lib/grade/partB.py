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


#: Part B's table of real mistakes: name -> (the hint the judge gives for exactly that mistake).
HINTS = {
    "b1_no_T": "T was not used: divide the logits by T before the softmax",
    "b1_times_T": "divide the logits by T; multiplying by T sharpens instead of softening",
    "b1_dim0": "normalize over the last dim (dim=-1, the classes), not over dim 0",
    "b1_overflow": "exp(1000) overflows: subtract the row's max logit before exp (softmax does not change)",
    "b2_no_T2": "multiply the KL term by T**2 (Hinton: the soft gradients shrink like 1/T**2 otherwise)",
    "b2_kl_mean": ("F.kl_div's default reduction='mean' divides by N*V (every element), not by N: use "
                   "reduction='batchmean' (sum over the classes, mean over the positions)"),
    "b2_kl_mean_no_T2": ("two things: F.kl_div's default reduction='mean' divides by N*V, use reduction='batchmean'; "
                         "and multiply the KL term by T**2"),
    "b2_kl_sum": "average the KL over the positions (batchmean), do not sum it",
    "b2_reversed": "the KL is KL(teacher || student): weight log(p_T / p_S) by the teacher's probabilities p_T",
    "b2_dim0": "take both softmaxes over the classes (dim=-1), not over the positions (dim=0)",
    "b2_no_T_inside": "divide both the student's and the teacher's logits by T inside the softmaxes",
    "b2_alpha_swapped": "alpha weights the soft (KL) term and 1 - alpha the cross-entropy, not the other way round",
    "b2_ce_at_T": "the cross-entropy uses the raw student logits, not student_logits / T",
    "b2_detached": "do not detach the student logits; detach the teacher's only",
}


def judge_b1(inputs: Any, result: Any) -> str:
    torch = _torch()
    for (label, z, T), r in zip(inputs["cases"], result):
        raised(r, "softmax_t", label)
        got = as_tensor(r, "softmax_t(...)")
        want = _distill().softmax_t(torch.tensor(z), T).numpy()
        if got.shape != want.shape:
            raise Fail(f"softmax_t must keep the logits' shape {want.shape}; got {got.shape} for {label}",
                       "normalize over the last dim only: sum(dim=-1, keepdim=True)")
        if not np.isfinite(got).all():
            raise Fail(f"softmax_t must return finite probabilities; got NaN/inf for {label}", HINTS["b1_overflow"])
        if not np.allclose(got, want, rtol=1e-6, atol=1e-9):
            zt = torch.tensor(z)
            candidates = {"b1_no_T": torch.softmax(zt, -1), "b1_times_T": torch.softmax(zt * T, -1)}
            if zt.ndim > 1:
                candidates["b1_dim0"] = torch.softmax(zt / T, 0)
            hint = "p_i = exp(z_i / T) / sum_j exp(z_j / T) over the last dim"
            for name, value in candidates.items():
                if (name != "b1_no_T" or T != 1) and np.allclose(got, value.numpy(), atol=1e-9):
                    hint = HINTS[name]
                    break
            raise Fail(f"softmax_t must equal exp(z/T)/sum exp(z/T) over the last dim; got "
                       f"{np.round(got.reshape(-1)[:4], 4)} instead of {np.round(want.reshape(-1)[:4], 4)} for {label}",
                       hint)
    lect = _distill().softmax_t(torch.tensor(LECTURE_LOGITS, dtype=torch.float64), 5.0).numpy()
    return f"softmax_t matches on {len(inputs['cases'])} cases (lecture logits at T = 5: {np.round(lect, 4).tolist()})"


WRONG_B1 = """\
e = torch.exp(torch.as_tensor(logits, dtype=torch.float64) / T)
return e / e.sum(dim=-1, keepdim=True)
"""
MISTAKES_B1 = (
    Mistake("no temperature", "z = torch.as_tensor(logits, dtype=torch.float64)\n"
            "e = torch.exp(z - z.amax(dim=-1, keepdim=True))\nreturn e / e.sum(dim=-1, keepdim=True)",
            HINTS["b1_no_T"]),
    Mistake("multiplies by T", "z = torch.as_tensor(logits, dtype=torch.float64) * T\n"
            "e = torch.exp(z - z.amax(dim=-1, keepdim=True))\nreturn e / e.sum(dim=-1, keepdim=True)",
            HINTS["b1_times_T"]),
    Mistake("softmax over dim 0", "z = torch.as_tensor(logits, dtype=torch.float64) / T\nreturn torch.softmax(z, dim=0)",
            HINTS["b1_dim0"]),
    Mistake("no max subtraction (overflow)", WRONG_B1, HINTS["b1_overflow"]),
    Mistake("returns a NumPy array", "import numpy as np\nz = np.asarray(logits, dtype=np.float64) / T\n"
            "e = np.exp(z - z.max(axis=-1, keepdims=True))\nreturn e / e.sum(axis=-1, keepdims=True)",
            "must return a torch.Tensor; got a NumPy array"),
)


# ================================================================================================== B2
#: (N positions, V classes, T, alpha): V != T**2 and N != V everywhere except one case (the F.kl_div trap with
#: 4 classes at T = 2), so each mistake of the table gives its own numbers on the whole set.
B2_SHAPES = ((3, 5, 2.0, 0.5), (4, 6, 4.0, 0.9), (2, 3, 1.0, 0.0), (5, 7, 8.0, 1.0), (3, 4, 2.0, 0.7))


def inputs_b2(rng: np.random.Generator) -> dict[str, Any]:
    cases = []
    for N, V, T, alpha in B2_SHAPES:
        label = f"{N} positions, {V} classes, T = {T:g}, alpha = {alpha:g}"
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
        hint = HINTS[found] if found else (
            "L = alpha * T**2 * KL(softmax(z_T/T) || softmax(z_S/T)) + (1 - alpha) * CE(z_S, labels), the KL summed "
            "over the classes and averaged over the positions")
        k = bad[0]
        raise Fail(f"kd_loss must be {wants[k]:.6g}; got {gots[k]:.6g} for {inputs['cases'][k][0]}", hint)
    for (label, zs, zt, y, T, alpha), (r, grad) in zip(inputs["cases"], result):
        s = torch.tensor(zs).requires_grad_(True)
        _distill().distillation_loss(s, torch.tensor(zt), torch.tensor(y), T=T, alpha=alpha).backward()
        if grad is None or isinstance(grad, str):
            raise Fail(f"kd_loss must be a differentiable torch scalar (autograd to the student logits); "
                       f"got {describe(r) if grad is None else grad} for {label}",
                       "compute it with torch operations on student_logits (no .item(), .numpy() or float())")
        if not np.allclose(as_array(grad, "gradient"), s.grad.numpy(), rtol=1e-6, atol=1e-10):
            raise Fail(f"the gradient of kd_loss w.r.t. the student logits must be alpha*T*(p_S - p_T)/N + CE part; "
                       f"it differs for {label}", HINTS["b2_detached"])
    return f"kd_loss and its gradient match on {len(inputs['cases'])} cases"


def _kd_code(kl: str = "kl = (log_pt.exp() * (log_pt - log_ps)).sum(dim=-1).mean()",
             ret: str = "return alpha * T**2 * kl + (1 - alpha) * ce", dim: int = -1, div: str = " / T",
             ce: str = "ce = torch.nn.functional.cross_entropy(student_logits, labels)",
             student: str = "student_logits") -> str:
    return (f"log_ps = torch.log_softmax({student}{div}, dim={dim})\n"
            f"log_pt = torch.log_softmax(teacher_logits.detach(){div}, dim={dim})\n{kl}\n{ce}\n{ret}\n")


WRONG_B2 = _kd_code(ret="return alpha * kl + (1 - alpha) * ce")
_KL_DIV = "kl = torch.nn.functional.kl_div(log_ps, log_pt.exp(){})"
MISTAKES_B2 = (
    Mistake("no T**2", WRONG_B2, HINTS["b2_no_T2"]),
    Mistake("F.kl_div default reduction, with T**2", _kd_code(kl=_KL_DIV.format("")), HINTS["b2_kl_mean"]),
    Mistake("F.kl_div default reduction, no T**2", _kd_code(kl=_KL_DIV.format(""),
            ret="return alpha * kl + (1 - alpha) * ce"), HINTS["b2_kl_mean_no_T2"]),
    Mistake("KL summed over positions", _kd_code(kl=_KL_DIV.format(", reduction='sum'")), HINTS["b2_kl_sum"]),
    Mistake("KL(student || teacher)", _kd_code(kl="kl = (log_ps.exp() * (log_ps - log_pt)).sum(dim=-1).mean()"),
            HINTS["b2_reversed"]),
    Mistake("softmax over the positions", _kd_code(dim=0), HINTS["b2_dim0"]),
    Mistake("no temperature inside the softmax", _kd_code(div=""), HINTS["b2_no_T_inside"]),
    Mistake("alpha on the wrong term", _kd_code(ret="return (1 - alpha) * T**2 * kl + alpha * ce"),
            HINTS["b2_alpha_swapped"]),
    Mistake("cross-entropy at temperature T",
            _kd_code(ce="ce = torch.nn.functional.cross_entropy(student_logits / T, labels)"), HINTS["b2_ce_at_T"]),
    Mistake("student detached", _kd_code(student="student_logits.detach()"), HINTS["b2_detached"]),
)


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
            elif got.shape == want.shape and np.maximum(0, q - p).sum() > 0 and np.allclose(
                    got, np.maximum(0, q - p) / np.maximum(0, q - p).sum(), atol=1e-9):
                hint = "the residual is max(0, p - q), the target's p minus the draft's q (not q - p)"
            raise Fail(f"residual must be {np.round(want, 4).tolist()}; got "
                       f"{np.round(got, 4).tolist() if got.size < 20 else describe(r)} for {label}", hint)
    return f"residual matches on {len(inputs['cases'])} cases ([0.5, 0.3, 0.2] vs [0.2, 0.5, 0.3] -> [1, 0, 0])"


WRONG_B3 = """\
return (torch.as_tensor(p) - torch.as_tensor(q)).clamp(min=0)
"""
MISTAKES_B3 = (
    Mistake("not normalized", WRONG_B3, "normalize: divide max(0, p - q) by its sum"),
    Mistake("no fallback when p == q", "r = (torch.as_tensor(p) - torch.as_tensor(q)).clamp(min=0)\nreturn r / r.sum()",
            "p == q gives 0/0: return p"),
    Mistake("|p - q| instead of max(0, p - q)", "r = (torch.as_tensor(p) - torch.as_tensor(q)).abs()\n"
            "return r / r.sum() if float(r.sum()) > 0 else torch.as_tensor(p)", "not |p - q|"),
    Mistake("q - p", "r = (torch.as_tensor(q) - torch.as_tensor(p)).clamp(min=0)\n"
            "return r / r.sum() if float(r.sum()) > 0 else torch.as_tensor(p)", "(not q - p)"),
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
    Mistake("no bonus token", WRONG_B4, "emits one token more than it accepts"),
    Mistake("correction drawn from p", WRONG_B4_LAST_FROM_P, "the last token: from the residual"),
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
MISTAKES_B5 = (
    Mistake("accepted tokens only", WRONG_B5, "count the token the target adds itself"),
    Mistake("the k -> infinity limit", "return 1 / (1 - alpha) if alpha < 1 else float(k + 1)", "k -> infinity limit"),
    Mistake("alpha = 1 not handled", "return (1 - alpha ** (k + 1)) / (1 - alpha)", "alpha = 1 divides 0 by 0"),
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
MISTAKES_B6 = (
    Mistake("one draft call per step", WRONG_B6, "its cost is k*c + 1 target calls, not 1 + c"),
    Mistake("draft cost ignored", "return (k + 1) if alpha == 1 else (1 - alpha ** (k + 1)) / (1 - alpha)",
            "divide by the cost of a step"),
    Mistake("alpha = 1 not handled", "return (1 - alpha ** (k + 1)) / (1 - alpha) / (k * c + 1)",
            "alpha = 1: (1 - alpha**(k+1)) / (1 - alpha) is k + 1"),
)


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
            elif math.isclose(got, np.maximum(p, q).sum(), abs_tol=1e-9):
                hint = "a token is accepted with probability min(1, p/q): sum min(p(x), q(x)), not max"
            elif math.isclose(got, float(np.sum(q * p / np.where(q > 0, q, 1))), abs_tol=1e-9):
                hint = "cap the acceptance probability at 1: min(1, p(x)/q(x)), i.e. sum_x min(p(x), q(x))"
            raise Fail(f"acceptance_rate must be {want:.6g}; got {got:.6g} for {label}", hint)
    return f"acceptance_rate matches on {len(inputs['cases'])} cases (the lecture's example: 0.7)"


WRONG_B7 = """\
return float(1 - (torch.as_tensor(p) - torch.as_tensor(q)).abs().sum())
"""
MISTAKES_B7 = (
    Mistake("1 - L1 instead of 1 - TV", WRONG_B7, "HALF the L1 distance"),
    Mistake("max instead of min", "return float(torch.maximum(torch.as_tensor(p), torch.as_tensor(q)).sum())",
            "not max"),
    Mistake("ratio not capped at 1", "p, q = torch.as_tensor(p), torch.as_tensor(q)\n"
            "return float((q * torch.where(q > 0, p / q, torch.zeros_like(p))).sum())", "cap the acceptance"),
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
