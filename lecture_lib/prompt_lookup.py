"""Prompt lookup (n-gram) drafting: a speculative-decoding draft that costs almost nothing (Part B notebook,
section "A draft for free: prompt lookup").

Text repeats itself: names, phrases and code come back, and a small greedy model often loops. So the tokens
that followed the last time the current suffix appeared are a good guess for what comes next. For the
sequence ``x_0..x_{L-1}`` (prompt plus everything generated so far) and n from ``max_ngram`` down to
``min_ngram``: find the most recent earlier position j where ``x_{j-n}..x_{j-1} == x_{L-n}..x_{L-1}`` and
propose ``x_j..x_{j+k-1}`` (fewer when the copy reaches the end). No model runs, so the draft cost c is ~0 and
the speedup is ``(1 - alpha**(k+1)) / (1 - alpha)`` divided by the verify cost alone.

The proposal is a deterministic function of the tokens already accepted, i.e. a draft distribution q that puts
all its mass on one token (a one-hot row). Exact speculative sampling accepts it with probability
min(1, p(x) / 1) = p(x) and otherwise draws from max(0, p - q) = p without x, renormalized, so the output is
still distributed exactly as the target (:func:`lecture_lib.speculative.verify` with one-hot rows); at
temperature 0 it is exactly the target's greedy output. Used by
:func:`lecture_lib.speculative.speculative_decode` alone (``draft=None``) or before a model draft (the model
fills the rest of the k tokens when the lookup finds fewer).

Algorithms layer: plain Python on token ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lecture_lib._checks import integer

__all__ = ["NGramIndex", "lookup_draft"]


def _check_ngrams(max_ngram: int, min_ngram: int) -> tuple[int, int]:
    integer("min_ngram", min_ngram, 1)
    integer("max_ngram", max_ngram, 1)
    if max_ngram < min_ngram:
        raise ValueError(f"max_ngram must be >= min_ngram; got max_ngram={max_ngram}, min_ngram={min_ngram}")
    return max_ngram, min_ngram


def lookup_draft(tokens: Sequence[int], k: int, *, max_ngram: int = 6, min_ngram: int = 3) -> list[int]:
    """Up to ``k`` draft tokens for the continuation of ``tokens`` by prompt lookup (the reference version,
    a plain backwards scan; :class:`NGramIndex` gives the same answer in O(1) per step).

    For n = max_ngram down to min_ngram: the latest j < len(tokens) with ``tokens[j-n:j] == tokens[-n:]``
    (the suffix itself, j = len(tokens), does not count) gives ``tokens[j:j+k]``. No match: ``[]``.
    """
    integer("k", k, 0)
    max_ngram, min_ngram = _check_ngrams(max_ngram, min_ngram)
    seq = list(tokens)
    L = len(seq)
    for n in range(min(max_ngram, L - 1), min_ngram - 1, -1):
        suffix = seq[L - n:]
        for j in range(L - 1, n - 1, -1):
            if seq[j - n:j] == suffix:
                return seq[j:j + k]
    return []


class NGramIndex:
    """Incremental prompt lookup: ``extend`` with the tokens as they are accepted, ``draft(k)`` for a proposal.

    For each n in ``min_ngram..max_ngram`` a dict maps an n-gram to the position right after its latest
    occurrence that has a successor (so the current suffix never matches itself). ``draft(k)`` equals
    ``lookup_draft(tokens, k, ...)`` for the tokens added so far (checked by property tests).
    """

    def __init__(self, tokens: Iterable[int] = (), *, max_ngram: int = 6, min_ngram: int = 3) -> None:
        self.max_ngram, self.min_ngram = _check_ngrams(max_ngram, min_ngram)
        self.tokens: list[int] = []
        self._last: dict[int, dict[tuple[int, ...], int]] = {n: {} for n in range(self.min_ngram, self.max_ngram + 1)}
        self.extend(tokens)

    def extend(self, tokens: Iterable[int]) -> None:
        """Append accepted tokens; every n-gram that now has a successor is recorded with that successor's position."""
        seq = self.tokens
        for tok in tokens:
            j = len(seq)  # position of tok: the n-grams ending at j - 1 now have a successor
            for n, table in self._last.items():
                if j >= n:
                    table[tuple(seq[j - n:j])] = j
            seq.append(int(tok))

    def draft(self, k: int) -> list[int]:
        """Up to ``k`` tokens that followed the latest earlier occurrence of the longest matching suffix."""
        seq = self.tokens
        L = len(seq)
        for n in range(min(self.max_ngram, L - 1), self.min_ngram - 1, -1):
            j = self._last[n].get(tuple(seq[L - n:]))
            if j is not None:
                return seq[j:j + k]
        return []

    def __len__(self) -> int:
        return len(self.tokens)
