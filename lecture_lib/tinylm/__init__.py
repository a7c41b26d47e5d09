"""The course's tiny language model: a character-level GPT trained on CPython's pydoc topics.

Public API (stable names; see COURSE.md)::

    load(name="teacher") -> TinyGPT in eval mode            names: "teacher", "student"
    perplexity(model, text=None) -> float                   text=None: the held-out validation split
    generate(model, prompt, max_new_tokens, *, temperature=0.0, seed=0) -> str   continuation only
    encode(text) -> list[int]; decode(ids) -> str; vocab() -> str
    num_params(model) -> int; param_bytes(model) -> int
    model(idx, cache=None) -> logits; model.new_cache(batch_size=1, storage=None) -> KVCache

Parts A (quantization, KV-cache bytes), B (distillation, speculative decoding) and E (gradient
checkpointing) measure on it. Retrain with ``python -m lecture_lib.tinylm.train --name teacher``.
"""

from .cache import FloatKVStorage, KVCache, KVStorage
from .checkpoint import MODEL_NAMES, load, load_checkpoint, save_checkpoint
from .corpus import train_text, validation_text
from .inference import generate, perplexity, sample_index, unigram_perplexity
from .model import Block, GPTConfig, TinyGPT, num_params, param_bytes
from .tokenizer import VOCAB, VOCAB_SIZE, decode, encode, vocab

__all__ = [
    "Block",
    "FloatKVStorage",
    "GPTConfig",
    "KVCache",
    "KVStorage",
    "MODEL_NAMES",
    "TinyGPT",
    "VOCAB",
    "VOCAB_SIZE",
    "decode",
    "encode",
    "generate",
    "load",
    "load_checkpoint",
    "num_params",
    "param_bytes",
    "perplexity",
    "sample_index",
    "save_checkpoint",
    "train_text",
    "unigram_perplexity",
    "validation_text",
    "vocab",
]
