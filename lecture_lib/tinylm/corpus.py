"""The tiny LM's corpus: CPython's pydoc topics, frozen into a snapshot (Part A-E model, "The tiny LM" section).

CPython ships the English text of its language reference help pages as ``pydoc_data.topics``
(79 topics, ~465k characters in Python 3.11). The text differs slightly between Python versions,
so the course freezes one copy into ``data/pydoc_topics.json.gz`` and every Python version reads the
same characters. ``SNAPSHOT_SHA256`` records the hash of the frozen text; tests check it.

Split (by topic, never by random characters): sort the topic names; topic number ``i`` (0-based)
goes to validation when ``i % 10 == 0``, otherwise to training. That puts 8 of 79 topics (~32k
characters, ~7 %) in validation. Topics of a split are joined in sorted-name order with
``TOPIC_SEPARATOR`` between them.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from pathlib import Path
from typing import Literal

DATA_DIR = Path(__file__).resolve().parent / "data"
SNAPSHOT_PATH = DATA_DIR / "pydoc_topics.json.gz"
#: sha256 of ``canonical_text(topics)`` for the shipped snapshot (frozen from CPython 3.11.7).
SNAPSHOT_SHA256 = "4594d824487ea711258725d3dd158b2a0bfdea6bccd9f358421913684e2dfcfd"
VALIDATION_EVERY = 10
TOPIC_SEPARATOR = "\n\n"


def canonical_text(topics: dict[str, str]) -> str:
    """One string that identifies a set of topics exactly: JSON with sorted keys (hashed by tests)."""
    return json.dumps(topics, sort_keys=True, ensure_ascii=False)


def snapshot_sha256(topics: dict[str, str]) -> str:
    """sha256 hex digest of ``canonical_text(topics)`` encoded as UTF-8."""
    return hashlib.sha256(canonical_text(topics).encode("utf-8")).hexdigest()


def freeze_snapshot(path: Path | str = SNAPSHOT_PATH) -> str:
    """Write the running interpreter's ``pydoc_data.topics`` to ``path``; return its sha256.

    Only used to (re)create the snapshot; the course always reads the shipped file.
    """
    import platform

    from pydoc_data import topics as live

    payload = {
        "source": "pydoc_data.topics",
        "python": platform.python_version(),
        "topics": dict(sorted(live.topics.items())),
    }
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, indent=0).encode("utf-8")
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw)
    return snapshot_sha256(payload["topics"])


@functools.lru_cache(maxsize=1)
def _read_snapshot() -> tuple[tuple[str, str], ...]:
    with gzip.open(SNAPSHOT_PATH, "rb") as gz:
        payload = json.loads(gz.read().decode("utf-8"))
    return tuple(sorted(payload["topics"].items()))


def load_topics() -> dict[str, str]:
    """All topics of the frozen snapshot, ``{name: text}`` in sorted-name order (a fresh dict)."""
    return dict(_read_snapshot())


def split_names(split: Literal["train", "validation"]) -> list[str]:
    """Topic names of one split: every ``VALIDATION_EVERY``-th topic by sorted name is validation."""
    if split not in ("train", "validation"):
        raise ValueError(f"split must be 'train' or 'validation'; got {split!r}")
    names = sorted(load_topics())
    want_val = split == "validation"
    return [n for i, n in enumerate(names) if (i % VALIDATION_EVERY == 0) == want_val]


def split_text(split: Literal["train", "validation"]) -> str:
    """The text of one split: its topics in sorted-name order joined by ``TOPIC_SEPARATOR``."""
    topics = load_topics()
    return TOPIC_SEPARATOR.join(topics[n] for n in split_names(split))


def train_text() -> str:
    """Training split text (71 topics, ~433k characters)."""
    return split_text("train")


def validation_text() -> str:
    """Held-out validation split text (8 topics, ~32k characters)."""
    return split_text("validation")


if __name__ == "__main__":  # python -m lecture_lib.tinylm.corpus  -> re-freeze from this interpreter
    print(freeze_snapshot())
