"""Saving and loading tiny-LM checkpoints (safetensors; the config travels in the file's metadata)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, safe_open, save_file

from .model import GPTConfig, TinyGPT, column_major_linears_
from .tokenizer import VOCAB

DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_NAMES: tuple[str, ...] = ("teacher", "student")


def checkpoint_path(name: str) -> Path:
    """Path of a shipped checkpoint, ``data/<name>.safetensors``."""
    return DATA_DIR / f"{name}.safetensors"


def save_checkpoint(model: TinyGPT, path: Path | str, *, dtype: torch.dtype = torch.float32) -> None:
    """Write ``model``'s weights (cast to ``dtype``) and its config + vocabulary as metadata."""
    tensors = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    # one metadata key: safetensors writes several keys in an unspecified order, which would make the
    # bytes (and the file hash) differ between identical runs
    info = {"config": json.loads(model.config.to_json()), "vocab": VOCAB, "name": model.name}
    save_file(tensors, str(path), metadata={"tinylm": json.dumps(info, sort_keys=True)})


def weights_sha256(model: torch.nn.Module) -> str:
    """sha256 over the parameter names, dtypes, shapes and bytes in sorted-name order (file-format independent)."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().contiguous().cpu()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def load_checkpoint(path: Path | str, name: str | None = None) -> TinyGPT:
    """Read a checkpoint written by ``save_checkpoint``; weights come back as float32 (Linear weights stored
    column-major, see :func:`~lecture_lib.tinylm.model.column_major_linears_`), model in eval mode."""
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    if "tinylm" not in meta:
        raise ValueError(f"{path} has no 'tinylm' metadata; it was not written by save_checkpoint")
    info = json.loads(meta["tinylm"])
    if info.get("vocab") != VOCAB:
        raise ValueError(f"{path} was trained with a different vocabulary than lecture_lib.tinylm.tokenizer.VOCAB")
    model = TinyGPT(GPTConfig(**info["config"]), name=name or info.get("name", "custom"))
    state = {k: v.to(torch.float32) for k, v in load_file(str(path)).items()}
    model.load_state_dict(state)
    return column_major_linears_(model).eval()


def load(name: str = "teacher") -> TinyGPT:
    """A shipped model, float32, eval mode, read offline from the package data. A fresh copy per call."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {list(MODEL_NAMES)}; got {type(name).__name__}")
    if name not in MODEL_NAMES:
        raise ValueError(f"name must be one of {list(MODEL_NAMES)}; got {name!r}")
    path = checkpoint_path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; retrain it with `python -m lecture_lib.tinylm.train --name {name}`"
        )
    return load_checkpoint(path, name)
