"""Speculative decoding (Part B notebook, sections "Draft and verify", "Why the output is exactly the
target's", "How many tokens per target call", "Speculative decoding on the tiny LM", "QuantSpec").

A cheap *draft* model q proposes k tokens one by one; the expensive *target* model p scores all of them
in **one** forward pass (k+1 next-token distributions); a modified rejection-sampling rule keeps a
prefix of the proposal and adds one token of its own (Leviathan et al. 2023, Chen et al. 2023):

* draft token x_i (drawn from q_i) is accepted with probability min(1, p_i(x_i) / q_i(x_i));
* at the first rejection, one token is drawn from the normalized residual
  ``max(0, p_i - q_i) / sum(max(0, p_i - q_i))`` and the step ends;
* if all k are accepted, a *bonus* token is drawn from p_k (the target's row after the last draft).

Each emitted token is then distributed **exactly** as the target's p: P(emit x) = min(q, p)(x)
+ (1 - sum min(p, q)) * residual(x) = p(x). So one target call yields 1..k+1 tokens. With an i.i.d.
acceptance probability alpha per token the expected number is ``(1 - alpha**(k+1)) / (1 - alpha)``
and, for a draft that costs c target-calls per token, the expected wall-clock speedup is
``(1 - alpha**(k+1)) / ((1 - alpha) * (k*c + 1))``.

Model protocol used by :func:`speculative_decode` (the tiny LM's, see ``lecture_lib.tinylm``):
``model(idx, cache=cache)`` with idx a LongTensor ``[1, t_new]`` returns logits ``[1, t_new, V]`` and
appends the new positions to ``cache``; ``model.new_cache(batch_size=1)`` makes a cache with
``len(cache)`` and ``cache.truncate(n)`` (roll back to the first n positions).

Algorithms layer: torch/numpy only, and the tiny LM's sampler (``tinylm.sample_index``, one draw per row by
inverse CDF; plain ``tinylm.generate`` samples with it too). :func:`speculative_generate` (text in, text out)
reads the tiny LM's character tokenizer, and :func:`quantspec_draft` uses ``lecture_lib.quant`` and
``lecture_lib.kvcache`` (same layer); both are imported inside the functions that need them.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lecture_lib._checks import fraction, integer, nonnegative
from lecture_lib.tinylm.inference import sample_index

__all__ = [
    "PROB_ATOL",
    "acceptance_probability",
    "residual_distribution",
    "verify",
    "verify_batch",
    "verify_rows",
    "verify_greedy",
    "expected_tokens_per_step",
    "expected_accepted_tokens",
    "expected_speedup",
    "simulate_tokens_per_step",
    "simulate_noisy_draft",
    "speculative_decode",
    "speculative_generate",
    "quantspec_draft",
    "QuantSpecDraft",
]

#: How far a row of probabilities may sum away from 1 (float32 softmax over ~100 tokens is off by ~1e-7).
PROB_ATOL = 1e-3


# ----------------------------------------------------------------------------------------------- checks
def _as_prob_tensor(x, name: str, ndim: tuple[int, ...]) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    elif isinstance(x, (list, tuple)):
        x = torch.tensor(x, dtype=torch.float64)
    elif not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array of probabilities; got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of probabilities; got dtype {x.dtype}")
    if x.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dims; got shape {tuple(x.shape)}")
    if x.shape[-1] == 0:
        raise ValueError(f"{name} must have a non-empty vocabulary dimension; got shape {tuple(x.shape)}")
    x = x.detach().to(torch.float64)
    if x.numel() and not _looks_like_distributions(x):  # the common case costs a handful of small operations
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} must be finite probabilities (no NaN/inf)")
        if bool((x < 0).any()):
            raise ValueError(f"{name} must be non-negative probabilities; min is {float(x.min()):.3g}")
        sums = x.sum(-1)
        worst = float((sums - 1).abs().max())
        if worst > PROB_ATOL:
            raise ValueError(
                f"every row of {name} must be a probability distribution summing to 1 "
                f"(within {PROB_ATOL}); a row sums to {float(sums.flatten()[(sums - 1).abs().flatten().argmax()]):.6g}"
            )
    return x


def _looks_like_distributions(x: Tensor) -> bool:
    """True when every entry is >= 0 and every row sums to 1 within PROB_ATOL (False for NaN, so the caller's
    detailed checks say what is wrong)."""
    if not x.min().item() >= 0:
        return False
    lo, hi = torch.aminmax(x.sum(-1))
    return lo.item() >= 1 - PROB_ATOL and hi.item() <= 1 + PROB_ATOL


def _as_token_tensor(x, name: str) -> Tensor:
    if isinstance(x, Tensor):
        t = x.detach()
    elif isinstance(x, np.ndarray):
        t = torch.from_numpy(x)
    else:
        try:
            items = list(x)
        except TypeError:
            raise TypeError(f"{name} must be a sequence of int token ids; got {type(x).__name__}") from None
        bad = [v for v in items if isinstance(v, bool) or not isinstance(v, (int, np.integer))]
        if bad:
            raise TypeError(f"{name} must hold int token ids; got {type(bad[0]).__name__} {bad[0]!r}")
        t = torch.tensor(items, dtype=torch.int64)
    if t.is_floating_point() or t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name} must hold integer token ids; got dtype {t.dtype}")
    return t.long()


def _check_generator(generator) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None; got {type(generator).__name__}")
    return generator


# ------------------------------------------------------------------------------------ one verify step
def acceptance_probability(p, q) -> Tensor:
    """Probability that one draft token x ~ q is accepted by target p: sum_x min(p(x), q(x)) = 1 - TV(p, q).

    Works row-wise on [..., V]. This is the per-token alpha of the formulas below.
    """
    p = _as_prob_tensor(p, "p", (1, 2, 3))
    q = _as_prob_tensor(q, "q", (1, 2, 3))
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape; got {tuple(p.shape)} and {tuple(q.shape)}")
    return torch.minimum(p, q).sum(-1)


def residual_distribution(p, q) -> Tensor:
    """The distribution a rejected draft token is replaced from: max(0, p - q) / sum(max(0, p - q)).

    Row-wise on [..., V]. When the residual is all zero (p == q, up to rounding) no rejection can
    happen in exact arithmetic; p itself is returned for such rows so the result is always a distribution.
    """
    p = _as_prob_tensor(p, "p", (1, 2, 3))
    q = _as_prob_tensor(q, "q", (1, 2, 3))
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape; got {tuple(p.shape)} and {tuple(q.shape)}")
    return _residual(p, q)


def _residual(p: Tensor, q: Tensor) -> Tensor:
    r = (p - q).clamp_min(0.0)
    total = r.sum(-1, keepdim=True)
    return torch.where(total > 0, r / total, p)  # rows with total 0 (0/0 = NaN there) take p


def verify_batch(draft_tokens, draft_probs, target_probs, *, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Exact speculative sampling for n independent verify steps at once (vectorized :func:`verify`).

    draft_tokens: ``[n, k]`` int ids (each drawn from the matching draft row);
    draft_probs: ``[n, k, V]`` or ``[k, V]`` (shared by all n); target_probs: ``[n, k+1, V]`` or ``[k+1, V]``.
    Returns ``(n_accepted, next_token)``, two LongTensors of shape ``[n]``: step j emits
    ``draft_tokens[j, :n_accepted[j]]`` followed by ``next_token[j]`` (a corrected token drawn from the
    residual at the first rejection, or the bonus token drawn from target row k when all k are accepted).

    Rules (see the module docstring for why the output is exactly p):

    * accept x_i iff ``u_i * q_i(x_i) < p_i(x_i)`` with u_i ~ U[0, 1), i.e. with probability min(1, p/q);
    * ``q_i(x_i) == 0`` (a token the draft could not have drawn) counts as a **rejection**. The exactness
      argument only involves tokens the draft can produce, so either choice keeps the output exact for a
      genuine draft; rejecting is the safe choice for inconsistent input because the replacement comes
      from the residual, which only puts mass where p > q >= 0. Accepting would emit x even if p(x) = 0.
    * an all-zero residual (p == q) falls back to p, so the returned id is always in 0..V-1 and always a
      token the target gives positive probability.
    """
    g = _check_generator(generator)
    tokens = _as_token_tensor(draft_tokens, "draft_tokens")
    if tokens.ndim != 2:
        raise ValueError(f"draft_tokens must be [n, k]; got shape {tuple(tokens.shape)}")
    n, k = tokens.shape
    q = _as_prob_tensor(draft_probs, "draft_probs", (2, 3))
    p = _as_prob_tensor(target_probs, "target_probs", (2, 3))
    if q.ndim == 2:
        q = q.unsqueeze(0).expand(n, *q.shape)
    if p.ndim == 2:
        p = p.unsqueeze(0).expand(n, *p.shape)
    V = p.shape[-1]
    if tuple(p.shape) != (n, k + 1, V):
        raise ValueError(f"target_probs must be [n, k+1, V] = [{n}, {k + 1}, V] (row k is the bonus row); got {tuple(p.shape)}")
    if tuple(q.shape) != (n, k, V):
        raise ValueError(f"draft_probs must be [n, k, V] = [{n}, {k}, {V}] (one row per draft token); got {tuple(q.shape)}")
    if tokens.numel() and bool(((tokens < 0) | (tokens >= V)).any()):
        raise ValueError(f"draft_tokens must be ids in 0..{V - 1}; got values in {int(tokens.min())}..{int(tokens.max())}")
    if n == 0:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    return verify_rows(tokens, q, p, g)


def verify_rows(tokens: Tensor, q: Tensor, p: Tensor, g: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """The verify rule itself, on checked float64 tensors: tokens [n, k], q [n, k, V], p [n, k+1, V].

    Returns ``(n_accepted [n], next_token [n])``. :func:`verify` and :func:`verify_batch` check their inputs
    and call this (Part B, Zone 4).
    """
    n, k = tokens.shape
    if k:
        idx = tokens.unsqueeze(-1)
        q_x = q.gather(-1, idx).squeeze(-1)  # [n, k]
        p_x = p[:, :k].gather(-1, idx).squeeze(-1)
        u = torch.rand((n, k), generator=g, dtype=torch.float64)
        accept = (q_x > 0) & (u * q_x < p_x)
        n_acc = accept.long().cumprod(dim=1).sum(dim=1)  # length of the accepted prefix
    else:
        n_acc = torch.zeros(n, dtype=torch.long)
    rows = torch.arange(n)
    p_row = p[rows, n_acc]  # [n, V]: the target row where the step ends
    # Appending an all-zero draft row k makes the residual at j = k equal p_k: the bonus row.
    q_row = torch.cat((q, q.new_zeros((n, 1, q.shape[-1]))), dim=1)[rows, n_acc]
    r = (p_row - q_row).clamp_min(0.0)  # the residual, unnormalized: sample_index scales by the row sum
    weights = torch.where(r.sum(-1, keepdim=True) > 0, r, p_row)  # an all-zero residual falls back to p
    next_token = sample_index(weights, g)  # [n]
    return n_acc, next_token


def _draw(weights: Sequence[float], u: float) -> int:
    """The index inverse-CDF sampling picks for a uniform u in [0, 1): the first i with cdf[i] > u * cdf[-1]
    (:func:`lecture_lib.tinylm.sample_index` on a Python list, the same floats in the same order)."""
    cdf = list(accumulate(weights))
    return min(bisect_right(cdf, u * cdf[-1]), len(cdf) - 1)


def _verify_lists(tokens: Sequence[int], q: Sequence[Sequence[float] | None], p: Sequence[Sequence[float]],
                  u: Sequence[float]) -> tuple[int, int]:
    """The verify rule for one step on Python lists: returns ``(n_accepted, next token)``.

    ``tokens``: the k draft ids; ``q``: k draft rows (None: a one-hot row at that token, i.e. a token copied by
    prompt lookup); ``p``: k+1 target rows; ``u``: k+1 uniforms in [0, 1), ``u[i]`` for the test of token i and
    ``u[k]`` for the final draw. The same decisions from the same uniforms as :func:`verify_rows` (accept x_i iff
    ``u_i q_i(x_i) < p_i(x_i)``; the next token by inverse CDF from the unnormalized residual, or from p when the
    residual is all zero). A step costs a few microseconds of Python instead of ~20 tensor operations, which is
    what :func:`speculative_decode` does once per step at T > 0 (Part B, "Where the time goes").
    """
    k = len(tokens)
    for i, x in enumerate(tokens):
        qi, pi = q[i], p[i]
        q_x = 1.0 if qi is None else qi[x]
        if q_x > 0 and u[i] * q_x < pi[x]:
            continue
        if qi is None:  # p minus a one-hot row: p with token x's mass removed (max(0, p(x) - 1) = 0)
            r = list(pi)
            r[x] = 0.0
        else:
            r = [a - b if a > b else 0.0 for a, b in zip(pi, qi)]
        return i, _draw(r if sum(r) > 0 else pi, u[k])
    return k, _draw(p[k], u[k])


def verify(draft_tokens, draft_probs, target_probs, *, generator: torch.Generator | None = None) -> list[int]:
    """One verify step of exact speculative sampling; returns the emitted token ids (1..k+1 of them).

    draft_tokens: k ints, x_i drawn from draft row i; draft_probs: ``[k, V]``; target_probs: ``[k+1, V]``
    (row i is the target's distribution for the position of x_i, row k the bonus row after x_k).
    Accept x_i with probability min(1, p_i(x_i)/q_i(x_i)); at the first rejection emit a token from the
    normalized residual max(0, p_i - q_i) and stop; when all k are accepted emit a bonus token from p_k.
    Edge cases (q(x) = 0 -> reject, all-zero residual -> p) are documented in :func:`verify_batch`.
    Every row must be a probability distribution (non-negative, summing to 1 within ``PROB_ATOL``);
    otherwise ValueError names the argument. ``generator``: a seeded ``torch.Generator`` for reproducible
    draws (None: torch's global generator).
    """
    tokens = _as_token_tensor(draft_tokens, "draft_tokens")
    if tokens.ndim != 1:
        raise ValueError(f"draft_tokens must be a flat sequence of k ints; got shape {tuple(tokens.shape)}")
    q = _as_prob_tensor(draft_probs, "draft_probs", (2,))
    p = _as_prob_tensor(target_probs, "target_probs", (2,))
    k = tokens.shape[0]
    if q.shape[0] != k:
        raise ValueError(f"draft_probs must have one row per draft token: [k, V] = [{k}, V]; got {tuple(q.shape)}")
    if p.shape[0] != k + 1:
        raise ValueError(f"target_probs must be [k+1, V] = [{k + 1}, V] (row k is the bonus row); got {tuple(p.shape)}")
    if q.shape[1] != p.shape[1]:
        raise ValueError(f"draft_probs and target_probs must share the vocabulary size; got {q.shape[1]} and {p.shape[1]}")
    ids = tokens.tolist()
    if k and (min(ids) < 0 or max(ids) >= p.shape[1]):
        raise ValueError(f"draft_tokens must be ids in 0..{p.shape[1] - 1}; got {ids}")
    u = torch.rand(k + 1, generator=_check_generator(generator), dtype=torch.float64).tolist()
    m, nxt = _verify_lists(ids, q.tolist(), p.tolist(), u)
    return ids[:m] + [nxt]


def verify_greedy(draft_tokens, target_scores) -> list[int]:
    """Greedy (temperature 0) verification: accept draft tokens while each equals the target's argmax.

    target_scores: ``[k+1, V]`` logits or probabilities (only the argmax matters; ties go to the lowest
    id, as ``torch.argmax``). Returns the accepted prefix plus the target's argmax at the first mismatch
    (or after the last draft token), so the output equals plain greedy decoding of the target.
    """
    tokens = _as_token_tensor(draft_tokens, "draft_tokens")
    if tokens.ndim != 1:
        raise ValueError(f"draft_tokens must be a flat sequence of k ints; got shape {tuple(tokens.shape)}")
    s = target_scores
    if isinstance(s, np.ndarray):
        s = torch.from_numpy(s)
    if not isinstance(s, Tensor) or not s.is_floating_point():
        raise TypeError("target_scores must be a floating-point tensor [k+1, V] of logits or probabilities")
    k = tokens.shape[0]
    if s.ndim != 2 or s.shape[0] != k + 1 or s.shape[1] == 0:
        raise ValueError(f"target_scores must be [k+1, V] = [{k + 1}, V]; got {tuple(s.shape)}")
    if bool(torch.isnan(s).any()):
        raise ValueError("target_scores must not contain NaN")
    return _greedy_accept(tokens.tolist(), s.argmax(dim=-1).tolist())


def _greedy_accept(drafted: list[int], best: list[int]) -> list[int]:
    """The accepted prefix of ``drafted`` (k ids) while it equals ``best`` (the k+1 target argmaxes), plus the
    target's own token at the first mismatch (or the bonus token after the last draft)."""
    n = 0
    for x, b in zip(drafted, best):
        if x != b:
            break
        n += 1
    return best[: n + 1]


# ---------------------------------------------------------------------------------------- the formulas
def expected_tokens_per_step(alpha: float, k: int) -> float:
    """Expected tokens per target call with i.i.d. acceptance probability alpha and k draft tokens.

    E = 1 + alpha + ... + alpha**k = (1 - alpha**(k+1)) / (1 - alpha)  (k + 1 at alpha = 1).
    Computed as -expm1((k+1) log alpha) / (1 - alpha), accurate also for alpha close to 1.
    The lecture's "1.5 / 4.0 / 9.0 tokens per round" are the k -> infinity limits minus one.
    """
    a = fraction("alpha", alpha, what="an acceptance probability")
    k = integer("k", k, 0)
    if a == 1.0:
        return float(k + 1)
    if a == 0.0 or k == 0:  # exactly one token (the expm1 form can round k = 0 to 0.9999999999999999)
        return 1.0
    return float(-math.expm1((k + 1) * math.log(a)) / (1.0 - a))


def expected_accepted_tokens(alpha: float, k: int) -> float:
    """Expected number of accepted draft tokens per step: alpha (1 - alpha**k) / (1 - alpha)
    (the lecture's E[tau]; = expected_tokens_per_step - 1)."""
    return expected_tokens_per_step(alpha, k) - 1.0


def expected_speedup(alpha: float, k: int, c: float) -> float:
    """Leviathan et al.'s expected wall-clock speedup over plain decoding of the target:

        S = (1 - alpha**(k+1)) / ((1 - alpha) (k c + 1))

    c = cost of one draft forward relative to one target forward (0 <= c). One step costs k draft calls
    plus one target call, i.e. (k c + 1) target-call units, and yields expected_tokens_per_step tokens.
    Example: alpha=0.9, k=4, c=0.05 -> 3.41.
    """
    if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)):
        raise TypeError(f"c (draft cost per token, in target calls) must be a real number >= 0; got {type(c).__name__}")
    c = float(c)
    if not (math.isfinite(c) and c >= 0):
        raise ValueError(f"c (draft cost per token, in target calls) must be a finite number >= 0; got {c}")
    k = integer("k", k, 0)
    return expected_tokens_per_step(alpha, k) / (k * c + 1.0)


def simulate_tokens_per_step(alpha: float, k: int, n_steps: int, *, seed: int = 0) -> np.ndarray:
    """Monte-Carlo of the acceptance model: each of the k draft tokens is accepted independently with
    probability alpha until the first rejection; a step emits (accepted + 1) tokens. Returns an int array
    of n_steps values in 1..k+1 (its mean estimates :func:`expected_tokens_per_step`)."""
    a = fraction("alpha", alpha, what="an acceptance probability")
    k = integer("k", k, 0)
    n_steps = integer("n_steps", n_steps, 1)
    rng = np.random.default_rng(seed)
    acc = rng.random((n_steps, k)) < a
    return np.cumprod(acc, axis=1).sum(axis=1).astype(np.int64) + 1


# ----------------------------------------------------------------------------------- decoding with LMs
def _next_probs(logits: Tensor, temperature: float) -> Tensor:
    return torch.softmax(logits.detach().to(torch.float64) / temperature, dim=-1)


def _check_temperature(temperature) -> float:
    return nonnegative("temperature", temperature)


def _model_context(model) -> int | None:
    for obj in (model, getattr(model, "config", None)):
        if obj is not None:
            for name in ("block_size", "max_seq_len", "context_length"):
                v = getattr(obj, name, None)
                if isinstance(v, int) and v > 0:
                    return v
    return None


@torch.no_grad()
def speculative_decode(
    target,
    draft,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    *,
    k: int = 4,
    temperature: float = 0.0,
    seed: int = 0,
    target_storage: Callable[[], Any] | None = None,
    draft_storage: Callable[[], Any] | None = None,
    lookup: bool | tuple[int, int] = False,
    stop_below: float | None = None,
) -> tuple[list[int], dict]:
    """Speculative decoding on token ids; returns (the max_new_tokens new ids, stats).

    Each step: the draft proposes kk = min(k, tokens still needed - 1) tokens one forward call at a time
    (its cache holds everything before), the target scores all of them in ONE cached forward call of
    kk+1 positions (the prompt is prefilled in the first calls), :func:`verify` (or
    :func:`verify_greedy` at temperature 0) picks what to keep, and both caches roll back with
    ``cache.truncate`` to the accepted prefix. At temperature 0 the ids equal plain greedy decoding of
    the target; at temperature > 0 they are a sample from the target at that temperature.

    Context window: models with a ``block_size`` B (``model.block_size`` or ``model.config.block_size``)
    see the same windows as ``tinylm.generate``: the prompt is cut to its last B tokens and, when a
    prediction would need more than B positions, the window restarts from the last B // 2 tokens
    (both caches are rebuilt; kk is shortened so one step never straddles a restart).
    Run the models in eval mode (``tinylm.load`` returns them so); this function does not change modes.

    ``target_storage`` / ``draft_storage``: per-layer KV storage factories passed to ``new_cache``
    (None: the model's default; a :class:`QuantSpecDraft` brings its own 4-bit storage).

    ``lookup``: prompt-lookup drafting (:mod:`lecture_lib.prompt_lookup`): ``True`` (n-grams of 6 down to 3
    tokens) or ``(max_ngram, min_ngram)``. Each step first copies up to kk tokens that followed the latest
    earlier occurrence of the current suffix (cost ~0; a one-hot draft row each, so sampling stays exact);
    the draft model, if any, proposes the rest. ``draft=None`` with ``lookup``: lookup alone (a step with no
    match verifies zero draft tokens, i.e. is one plain decoding step).

    ``stop_below``: adaptive draft length. None (default): the draft model always proposes up to kk tokens.
    A probability p: the draft stops proposing in a step as soon as its most likely next token has probability
    below p (in the draft's distribution at this temperature; the token it drew is still proposed): an unsure draft
    is usually rejected, so its later tokens would cost draft calls for nothing. The stopping rule reads only the
    draft's own numbers, so the output stays exact (greedy at T = 0, a sample from the target at T > 0).

    stats: ``new_tokens``, ``target_calls``, ``draft_calls``, ``proposed`` and ``accepted`` draft tokens,
    ``rejected`` (steps that ended with a rejection), ``acceptance_rate`` = accepted / (accepted + rejected):
    the fraction of *verified* draft tokens that were accepted, i.e. the per-token alpha of
    :func:`expected_tokens_per_step` (draft tokens after a rejection are never verified, so
    ``accepted_fraction`` = accepted / proposed is smaller and is not alpha),
    ``tokens_per_target_call`` = new_tokens / target_calls,
    ``accepted_histogram`` (steps that accepted 0..k draft tokens, counting only full-length steps),
    ``k``, ``temperature``, ``lookup_proposed`` (draft tokens that came from prompt lookup).
    """
    from lecture_lib.prompt_lookup import NGramIndex  # same layer: token-id n-gram matching

    k = integer("k", k, 0)
    n_new = integer("max_new_tokens", max_new_tokens, 0)
    temperature = _check_temperature(temperature)
    prompt = [int(t) for t in _as_token_tensor(prompt_ids, "prompt_ids").reshape(-1).tolist()]
    if not prompt:
        raise ValueError("prompt_ids must contain at least one token (the models need a context to predict from)")
    if isinstance(lookup, tuple):
        ngrams = lookup
    elif isinstance(lookup, (bool, np.bool_)):
        ngrams = (6, 3) if lookup else None
    else:
        raise TypeError(f"lookup must be a bool or a (max_ngram, min_ngram) tuple; got {type(lookup).__name__}")
    stop = None if stop_below is None else fraction("stop_below", stop_below, note="or None (fixed draft length)")
    if draft is None and ngrams is None:
        raise ValueError("draft may be None only with lookup=True (prompt lookup drafts alone)")
    for m, name in ((target, "target"), (draft, "draft")):
        if (m is not None or name == "target") and (not callable(m) or not hasattr(m, "new_cache")):
            raise TypeError(f"{name} must be a model with __call__(idx, cache=...) and new_cache(); got {type(m).__name__}")
    bs = min((c for c in (_model_context(target), _model_context(draft)) if c is not None), default=None)
    index = NGramIndex(prompt, max_ngram=ngrams[0], min_ngram=ngrams[1]) if ngrams else None
    greedy = temperature == 0.0
    gen = torch.Generator().manual_seed(int(seed))

    def fresh_caches():
        tc = target.new_cache(1, storage=target_storage) if target_storage is not None else target.new_cache(1)
        if draft is None:
            return tc, None
        dc = draft.new_cache(1, storage=draft_storage) if draft_storage is not None else draft.new_cache(1)
        return tc, dc

    tcache, dcache = fresh_caches()
    seq = list(prompt)
    # Context window, the same schedule as tinylm.generate: the caches hold seq[start:...]; the prompt is
    # cut to its last bs tokens; when a prediction would need more than bs positions of context, the
    # window slides to the last bs // 2 tokens (caches rebuilt by the next calls).
    start = max(0, len(prompt) - bs) if bs else 0
    out: list[int] = []
    target_calls = draft_calls = proposed = accepted = rejected = looked_up = 0
    hist = [0] * (k + 1)
    while len(out) < n_new:
        base = len(seq)
        if bs and base - start > bs:
            start = base - bs // 2
            tcache, dcache = fresh_caches()
        kk = min(k, n_new - len(out) - 1)
        if bs:
            kk = min(kk, bs - (base - start))  # all k+1 predictions inside one window
        drafted: list[int] = index.draft(kk) if index is not None else []
        n_lookup = len(drafted)
        q_rows: list[list[float]] = []  # the draft model's rows (T > 0); lookup rows are one-hot (None below)
        if not greedy and draft is not None:  # one uniform per draft token the model may draw this step
            u_draft = torch.rand(kk - n_lookup, generator=gen, dtype=torch.float64).tolist()
        for _ in range(kk - n_lookup if draft is not None else 0):
            at = start + len(dcache)  # first position the draft's cache has not seen
            feed = seq[at:] + drafted if at < len(seq) else drafted[at - len(seq):]
            logits = draft(torch.tensor([feed], dtype=torch.long), cache=dcache)[0, -1]
            draft_calls += 1
            if greedy:
                x = int(logits.argmax())
                unsure = stop is not None and float(torch.softmax(logits, -1)[x]) < stop
            else:
                q = _next_probs(logits, temperature).tolist()
                x = _draw(q, u_draft[len(q_rows)])
                q_rows.append(q)
                unsure = stop is not None and max(q) < stop
            drafted.append(x)
            if unsure:  # adaptive draft length: stop proposing after an unsure guess
                break
        kd = len(drafted)
        at = start + len(tcache)
        feed = seq[at:] + drafted if at < len(seq) else drafted[at - len(seq):]
        logits = target(torch.tensor([feed], dtype=torch.long), cache=tcache)[0, -(kd + 1):]
        target_calls += 1
        if greedy:
            new = _greedy_accept(drafted, logits.argmax(dim=-1).tolist())
        else:
            u = torch.rand(kd + 1, generator=gen, dtype=torch.float64).tolist()
            m, nxt = _verify_lists(drafted, [None] * n_lookup + q_rows, _next_probs(logits, temperature).tolist(), u)
            new = drafted[:m] + [nxt]
        n_acc = len(new) - 1
        proposed += kd
        looked_up += n_lookup
        accepted += n_acc
        rejected += n_acc < kd  # a step ends either with a rejection or with all kd accepted
        if kd == k:
            hist[n_acc] += 1
        seq.extend(new)
        out.extend(new)
        if index is not None:
            index.extend(new)
        keep = base + n_acc - start  # cached positions still valid: the window up to the last accepted draft
        tcache.truncate(keep)
        if dcache is not None and len(dcache) > keep:
            dcache.truncate(keep)
    stats = {
        "new_tokens": len(out),
        "target_calls": target_calls,
        "draft_calls": draft_calls,
        "proposed": proposed,
        "accepted": accepted,
        "rejected": rejected,
        "acceptance_rate": accepted / (accepted + rejected) if accepted + rejected else float("nan"),
        "accepted_fraction": accepted / proposed if proposed else float("nan"),
        "tokens_per_target_call": len(out) / target_calls if target_calls else float("nan"),
        "accepted_histogram": hist,
        "k": k,
        "temperature": temperature,
        "lookup_proposed": looked_up,
    }
    return out, stats


def speculative_generate(
    target,
    draft,
    prompt: str,
    max_new_tokens: int,
    *,
    k: int = 4,
    temperature: float = 0.0,
    seed: int = 0,
    draft_storage: Callable[[], Any] | None = None,
    lookup: bool | tuple[int, int] = False,
    stop_below: float | None = None,
) -> tuple[str, dict]:
    """Text in, text out: speculative decoding of the tiny LM (character tokens).

    Returns ``(continuation, stats)``: the continuation is exactly ``max_new_tokens`` characters, without
    the prompt. At temperature 0 it equals ``tinylm.generate(target, prompt, max_new_tokens)``; at
    temperature > 0 it is a sample from the target (seeded by ``seed``). ``draft`` is any tiny-LM model
    (e.g. the student), a :class:`QuantSpecDraft` (the target itself, INT4 weights + 4-bit KV cache), or None
    with ``lookup=True`` (prompt lookup alone; ``lookup`` with a model: lookup first, the model fills up).
    ``stop_below``: adaptive draft length (see :func:`speculative_decode`). stats: see :func:`speculative_decode`.
    """
    from lecture_lib.tinylm import tokenizer  # the tiny LM's character vocabulary (text <-> ids)

    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str; got {type(prompt).__name__}")
    ids, stats = speculative_decode(
        target, draft, tokenizer.encode(prompt), max_new_tokens,
        k=k, temperature=temperature, seed=seed, draft_storage=draft_storage, lookup=lookup, stop_below=stop_below,
    )
    return tokenizer.decode(ids), stats


def simulate_noisy_draft(
    n_classes: int,
    *,
    logit_var: float = 2.0,
    noise_var: float = 0.1,
    n: int = 20_000,
    seed: int = 0,
    chunk: int = 256,
) -> dict[str, float]:
    """The lecture's QuantSpec "boss battle" model, simulated instead of approximated.

    Target logits z ~ N(0, logit_var) i.i.d. over ``n_classes``; the quantized draft sees z + eps with
    eps ~ N(0, noise_var) (variances, as the lecture writes N(0, 2) and N(0, 0.1)). Returns the Monte-Carlo
    estimates over n draws of ``greedy_agreement`` = P(argmax z = argmax (z + eps)) (greedy acceptance)
    and ``acceptance`` = E[sum min(p, q)] with p = softmax(z), q = softmax(z + eps) (sampling acceptance),
    plus ``pairwise_flip`` = P(sign(dz) != sign(dz + deps)) for two classes = arctan(sigma_eps/sigma_z)/pi,
    with its closed form. The lecture's Q(4.47) ~ 4e-6 fixes |dz| at one standard deviation; averaging
    over dz gives ~7 % (lecture §3.B.3, boss battle).
    """
    n_classes = integer("n_classes", n_classes, 2)
    n = integer("n", n, 1)
    chunk = integer("chunk", chunk, 1)
    for name, v in (("logit_var", logit_var), ("noise_var", noise_var)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite variance >= 0; got {v!r}")
    g = torch.Generator().manual_seed(int(seed))
    sz, se = math.sqrt(logit_var), math.sqrt(noise_var)
    agree = acc = 0.0
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        z = torch.randn((m, n_classes), generator=g, dtype=torch.float64) * sz
        zq = z + torch.randn((m, n_classes), generator=g, dtype=torch.float64) * se
        agree += float((z.argmax(-1) == zq.argmax(-1)).double().sum())
        acc += float(torch.minimum(torch.softmax(z, -1), torch.softmax(zq, -1)).sum(-1).sum())
    dz = torch.randn(n, generator=g, dtype=torch.float64) * math.sqrt(2) * sz
    de = torch.randn(n, generator=g, dtype=torch.float64) * math.sqrt(2) * se
    flip = float((torch.sign(dz) != torch.sign(dz + de)).double().mean())
    return {
        "greedy_agreement": agree / n,
        "acceptance": acc / n,
        "pairwise_flip": flip,
        "pairwise_flip_exact": math.atan(se / sz) / math.pi if sz > 0 else 0.5,
    }


# ------------------------------------------------------------------------------------ self-speculation
class QuantSpecDraft:
    """A self-speculative draft in the spirit of QuantSpec: the target's own network with quantized
    weights (``lecture_lib.quant.quantize_weights``) and a quantized KV cache
    (``lecture_lib.kvcache.QuantizedKVStorage``). Follows the model protocol: ``draft(idx, cache=...)``,
    ``draft.new_cache(batch_size=1, storage=None)`` (default storage: the quantized one).

    The weights are *simulated* INT4 (dequantized back to float32), so on a CPU this draft computes
    exactly as much as the target, plus the cost of (de)quantizing its KV cache: its draft cost c is
    >= 1 and it cannot speed up wall-clock decoding here. What it shows is QuantSpec's premise, a very
    high acceptance rate; the speed comes from moving 4-bit instead of 16-bit weights and KV entries
    on memory-bound hardware with real low-bit kernels.
    """

    def __init__(self, model, storage: Callable[[], Any] | None, description: str = "") -> None:
        self.model = model
        self.storage = storage
        self.description = description

    def __call__(self, idx: Tensor, cache=None) -> Tensor:
        return self.model(idx, cache=cache)

    def new_cache(self, batch_size: int = 1, storage: Callable[[], Any] | None = None):
        return self.model.new_cache(batch_size, storage=storage if storage is not None else self.storage)

    def __getattr__(self, name: str):  # config, block_size, ... of the wrapped model
        if name in ("model", "storage", "description"):
            raise AttributeError(name)
        return getattr(self.model, name)

    def __repr__(self) -> str:
        return f"QuantSpecDraft({self.description})"


def quantspec_draft(target, *, weight_bits: int = 4, group_size: int | None = 32, kv_format: str | None = "int4") -> QuantSpecDraft:
    """Build the self-speculative draft: a copy of ``target`` with weights replaced by
    dequantize(quantize(W, weight_bits, group_size)) and a KV cache stored as ``kv_format`` codes
    (``None``: float KV). The target is untouched."""
    from lecture_lib.kvcache import QuantizedKVStorage
    from lecture_lib.quant import quantize_weights

    qmodel = quantize_weights(target, weight_bits, group_size=group_size)
    qmodel.eval()
    storage = None if kv_format is None else (lambda: QuantizedKVStorage(kv_format))
    desc = f"INT{weight_bits} weights" + (f" (group {group_size})" if group_size else "") + (
        f", {kv_format} KV cache" if kv_format else ", float KV cache"
    )
    return QuantSpecDraft(qmodel, storage, desc)
