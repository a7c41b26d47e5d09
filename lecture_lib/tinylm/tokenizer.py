"""Character tokenizer of the tiny LM: one token per character (see "The tiny LM" in each part notebook).

Vocabulary (``VOCAB``, 105 symbols, token id = position in the string):

* id 0: newline ``"\\n"``;
* ids 1-95: the 95 printable ASCII characters ``" "`` (32) to ``"~"`` (126) in code-point order;
* ids 96-104: the nine non-ASCII characters that occur in the corpus snapshot:
  ``° ß – — ‘ ’ “ ” …`` and nothing else.

The vocabulary is fixed here (not derived at run time) so that a checkpoint's token ids never change.
A few ASCII characters (e.g. ``$`` and a backtick) never occur in the corpus; they are valid input but the
models give them a very low probability. Any other character (a tab, ``é``, an emoji, ...) is **not**
silently replaced: ``encode`` raises ``ValueError`` naming the character and its position.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

VOCAB: str = "\n" + "".join(chr(c) for c in range(32, 127)) + "°ß–—‘’“”…"
VOCAB_SIZE: int = len(VOCAB)
_STOI: dict[str, int] = {ch: i for i, ch in enumerate(VOCAB)}


def vocab() -> str:
    """The vocabulary as one string; the token id of a character is its index in this string."""
    return VOCAB


def encode(text: str) -> list[int]:
    """Characters -> token ids. Raises TypeError for a non-str, ValueError for a character outside ``VOCAB``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    try:
        return [_STOI[ch] for ch in text]
    except KeyError:
        pos = next(i for i, ch in enumerate(text) if ch not in _STOI)
        ch = text[pos]
        raise ValueError(
            f"text contains {ch!r} (U+{ord(ch):04X}) at position {pos}, which is not in the tiny LM's "
            "vocabulary (newline, printable ASCII and °ß–—‘’“”…); replace or remove it"
        ) from None


def decode(ids: Iterable[int] | torch.Tensor | np.ndarray) -> str:
    """Token ids (a list, 1-D tensor or array of ints) -> text. Raises ValueError for ids outside 0..VOCAB_SIZE-1."""
    if isinstance(ids, (torch.Tensor, np.ndarray)):
        if ids.ndim != 1:
            raise ValueError(f"ids must be 1-D; got shape {tuple(ids.shape)}")
        ids = ids.tolist()
    out = []
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"ids must be integers; got {type(i).__name__}")
        if not 0 <= i < VOCAB_SIZE:
            raise ValueError(f"token id must be in 0..{VOCAB_SIZE - 1}; got {i}")
        out.append(VOCAB[i])
    return "".join(out)
