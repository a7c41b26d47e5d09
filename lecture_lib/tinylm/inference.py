"""Perplexity and text generation with the tiny LM (used by Parts A, B and E).

Perplexity of a text x_0..x_{N-1}: PPL = exp( -1/(N-1) * sum_{i>=1} log p(x_i | context) ), per character.
Evaluation windows (``block_size`` = B, ``stride`` = S <= B): the first window scores targets 1..B; each later
window starts S characters later and scores only its last S targets, so every target is scored exactly once
and, after the first window, sees at least B - S characters of context. The default S = B // 2
gives every scored character at least B/2 characters of context at twice the cost of non-overlapping
windows (S = B, where the context restarts at every window boundary).

Generation: prefill the prompt (its last B tokens if longer) into a KV cache, then feed one token at a
time. When the cache is full (B positions), slide: start a new cache and re-prefill the last B // 2
tokens, so the amortised cost stays O(1) forward steps per token. Temperature 0 is greedy (argmax);
T > 0 samples from softmax(logits / T) with a local ``torch.Generator`` seeded by ``seed`` (the global RNG
is never touched).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .corpus import validation_text
from .tokenizer import decode, encode


def _block_size(model: nn.Module) -> int:
    cfg = getattr(model, "config", None)
    if cfg is None or not hasattr(cfg, "block_size"):
        raise TypeError(f"model must be a tiny LM (a module with .config.block_size); got {type(model).__name__}")
    return int(cfg.block_size)


def _check_int(name: str, value: object, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}; got {value}")
    return value


def perplexity(model: nn.Module, text: str | None = None, *, stride: int | None = None, batch_size: int = 64) -> float:
    """Per-character perplexity of ``model`` on ``text`` (None: the held-out validation split).

    ``stride`` defaults to ``block_size // 2`` (see the module docstring). Runs under ``torch.no_grad``
    in whatever dtype/autocast context the caller set; log-softmax is taken in float32.
    """
    bs = _block_size(model)
    if text is None:
        text = validation_text()
    if not isinstance(text, str):
        raise TypeError(f"text must be a str or None (validation split); got {type(text).__name__}")
    if len(text) < 2:
        raise ValueError(f"text must have at least 2 characters (one to predict); got {len(text)}")
    stride = bs // 2 if stride is None else _check_int("stride", stride, 1)
    if stride > bs:
        raise ValueError(f"stride must be in 1..block_size={bs}; got {stride}")
    _check_int("batch_size", batch_size, 1)
    ids = torch.tensor(encode(text), dtype=torch.long)
    n = ids.numel()
    # windows: (start, first scored target offset inside the window)
    windows: list[tuple[int, int]] = [(0, 0)]
    start = 0
    while start + bs < n - 1:  # targets beyond the current window remain
        start = min(start + stride, n - 1 - bs)
        prev_end = windows[-1][0] + bs  # last target index covered so far (exclusive of input offset)
        windows.append((start, prev_end - start))
    total_nll, total_count = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            full = [w for w in windows if w[0] + bs + 1 <= n]
            short = [w for w in windows if w[0] + bs + 1 > n]
            for i in range(0, len(full), batch_size):
                chunk = full[i : i + batch_size]
                x = torch.stack([ids[s : s + bs] for s, _ in chunk])
                y = torch.stack([ids[s + 1 : s + bs + 1] for s, _ in chunk])
                logp = F.log_softmax(model(x).float(), dim=-1)
                nll = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)
                for row, (_, skip) in enumerate(chunk):
                    total_nll += float(nll[row, skip:].double().sum())
                    total_count += bs - skip
            for s, skip in short:  # text shorter than one window
                x = ids[s : n - 1].unsqueeze(0)
                y = ids[s + 1 : n]
                logp = F.log_softmax(model(x).float(), dim=-1)[0]
                nll = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)
                total_nll += float(nll[skip:].double().sum())
                total_count += y.numel() - skip
    finally:
        model.train(was_training)
    if total_count != n - 1:  # every target exactly once
        raise RuntimeError(f"internal error: scored {total_count} targets, expected {n - 1}")
    return math.exp(total_nll / total_count)


def sample_index(probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One index per row of ``probs`` [..., V], drawn with probability proportional to the row (inverse CDF).

    One uniform u per row from ``generator``; returns the smallest i with ``cdf[i] > u * cdf[-1]``
    (``cdf`` = cumulative sum of the row), so index i comes out with probability ``probs[i] / sum(row)`` and an
    index of probability 0 never does. The result has shape ``probs.shape[:-1]`` (long). Same distribution as
    ``torch.multinomial(probs, 1)`` at a third of its cost for one row of ~100 tokens, which matters when
    decoding samples once per token (``generate``; Part B's speculative sampling samples once per drafted
    token and once per step). Rows must be non-negative with a positive sum (callers pass softmax outputs).
    """
    cdf = probs.cumsum(-1)  # [..., V]
    u = torch.rand(cdf.shape[:-1] + (1,), generator=generator, dtype=cdf.dtype)  # [..., 1]
    return torch.searchsorted(cdf, u * cdf[..., -1:], right=True).squeeze(-1).clamp_max_(cdf.shape[-1] - 1)


def generate(
    model: nn.Module, prompt: str, max_new_tokens: int, *, temperature: float = 0.0, seed: int = 0
) -> str:
    """Continue ``prompt`` by exactly ``max_new_tokens`` characters (returned without the prompt).

    Uses the model's KV cache; temperature 0 is greedy, T > 0 samples with a local generator seeded by ``seed``.
    """
    bs = _block_size(model)
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str; got {type(prompt).__name__}")
    if not prompt:
        raise ValueError("prompt must be a non-empty str (the model needs at least one character of context)")
    _check_int("max_new_tokens", max_new_tokens, 0)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature must be a float >= 0; got {type(temperature).__name__}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite float >= 0 (0 = greedy); got {temperature}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    ids = encode(prompt)
    if max_new_tokens == 0:
        return ""
    gen = torch.Generator().manual_seed(seed) if temperature > 0 else None
    out: list[int] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            cache = model.new_cache(1)
            logits = model(torch.tensor([ids[-bs:]]), cache)[0, -1]
            history = list(ids)
            while True:
                if temperature == 0:
                    nxt = int(torch.argmax(logits))
                else:
                    probs = torch.softmax(logits.float() / temperature, dim=-1)
                    nxt = int(sample_index(probs, gen))
                out.append(nxt)
                history.append(nxt)
                if len(out) == max_new_tokens:
                    break
                if len(cache) >= bs:  # slide: re-prefill the last block_size // 2 tokens
                    cache = model.new_cache(1)
                    logits = model(torch.tensor([history[-(bs // 2) :]]), cache)[0, -1]
                else:
                    logits = model(torch.tensor([[nxt]]), cache)[0, -1]
    finally:
        model.train(was_training)
    return decode(out)


def unigram_perplexity(text: str | None = None, train: str | None = None, *, alpha: float = 1.0) -> float:
    """Baseline: perplexity of a model that ignores context, p(c) = (count_train(c) + alpha) / (N + alpha V).

    Counts come from ``train`` (None: the training split), evaluated on every character of ``text``
    (None: the validation split); add-``alpha`` smoothing over the whole vocabulary keeps unseen characters finite.
    """
    from .corpus import train_text
    from .tokenizer import VOCAB_SIZE

    text = validation_text() if text is None else text
    train = train_text() if train is None else train
    if not isinstance(text, str) or not isinstance(train, str):
        raise TypeError("text and train must be str or None")
    if not text:
        raise ValueError("text must be non-empty")
    if not (isinstance(alpha, (int, float)) and alpha > 0):
        raise ValueError(f"alpha must be > 0 (add-alpha smoothing); got {alpha}")
    counts = torch.bincount(torch.tensor(encode(train), dtype=torch.long), minlength=VOCAB_SIZE).double()
    logp = torch.log((counts + alpha) / (counts.sum() + alpha * VOCAB_SIZE))
    ids = torch.tensor(encode(text), dtype=torch.long)
    return math.exp(float(-logp[ids].mean()))
