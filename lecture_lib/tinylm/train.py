"""Train a tiny LM reproducibly: ``python -m lecture_lib.tinylm.train --name teacher`` (or ``student``).

Recipe: next-character cross-entropy on random windows of the training split, AdamW
(betas 0.9/0.99, weight decay on matrices only), linear warmup then cosine decay to 10 % of the peak
learning rate, gradient clipping at 1.0, a fixed number of steps (never a time limit, so a seed fixes the
result on a given machine and thread count). Every ``eval_every`` steps the loss on a fixed set of
validation windows is logged. Writes ``<out>/<name>.safetensors`` and ``<out>/<name>_train.json``
(command, seed, config, hyper-parameters, torch version, threads, wall time, loss curve, final
validation perplexity, sha256 of the weights file).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..training import lm_gradients, lm_loss, make_optimizer, train_step
from .checkpoint import DATA_DIR, load_checkpoint, save_checkpoint, weights_sha256
from .corpus import SNAPSHOT_SHA256, train_text, validation_text
from .inference import perplexity
from .model import GPTConfig, TinyGPT, num_params
from .tokenizer import encode


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    steps: int = 3000
    batch_size: int = 32
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_windows: int = 64
    seed: int = 0


PRESETS: dict[str, tuple[GPTConfig, TrainConfig]] = {
    "teacher": (
        GPTConfig(block_size=128, n_layer=6, n_head=4, n_embd=128, dropout=0.0),
        TrainConfig(steps=2000, batch_size=32, lr=2e-3),
    ),
    "student": (
        GPTConfig(block_size=128, n_layer=1, n_head=4, n_embd=88, dropout=0.0),
        TrainConfig(steps=2000, batch_size=32, lr=3e-3),
    ),
}


def lr_at(step: int, tc: TrainConfig) -> float:
    """Linear warmup to ``lr`` over ``warmup`` steps, then cosine decay to ``min_lr_ratio * lr`` at ``steps``."""
    if step < tc.warmup:
        return tc.lr * (step + 1) / tc.warmup
    progress = (step - tc.warmup) / max(1, tc.steps - tc.warmup)
    return tc.lr * (tc.min_lr_ratio + (1 - tc.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def sample_batch(data: torch.Tensor, block_size: int, batch_size: int, gen: torch.Generator):
    """``batch_size`` random windows: inputs data[s:s+B], targets data[s+1:s+B+1]."""
    starts = torch.randint(0, data.numel() - block_size - 1, (batch_size,), generator=gen)
    offs = torch.arange(block_size)
    x = data[starts[:, None] + offs]
    y = data[starts[:, None] + offs + 1]
    return x, y


def eval_loss(model: TinyGPT, data: torch.Tensor, n_windows: int) -> float:
    """Mean next-character loss over the first ``n_windows`` non-overlapping windows of ``data``."""
    bs = model.config.block_size
    n = min(n_windows, (data.numel() - 1) // bs)
    x = torch.stack([data[i * bs : (i + 1) * bs] for i in range(n)])
    y = torch.stack([data[i * bs + 1 : (i + 1) * bs + 1] for i in range(n)])
    model.eval()
    with torch.no_grad():
        loss = lm_loss(model, x, y)
    model.train()
    return float(loss)


def train(name: str, cfg: GPTConfig, tc: TrainConfig, out_dir: Path, *, threads: int = 2, progress: bool = True,
          command: str | None = None) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(tc.seed)
    gen = torch.Generator().manual_seed(tc.seed)
    train_ids = torch.tensor(encode(train_text()), dtype=torch.long)
    val_ids = torch.tensor(encode(validation_text()), dtype=torch.long)
    model = TinyGPT(cfg, name=name)
    opt = make_optimizer(model, tc.lr, weight_decay=tc.weight_decay)
    curve: list[dict] = []
    running: list[float] = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    model.train()
    bar = tqdm(range(tc.steps), desc=f"train {name}", disable=not progress, mininterval=2.0)
    for step in bar:
        x, y = sample_batch(train_ids, cfg.block_size, tc.batch_size, gen)
        loss, _ = train_step(model, opt, lambda: lm_gradients(model, x, y), lr=lr_at(step, tc),
                             grad_clip=tc.grad_clip)
        running.append(float(loss))
        if (step + 1) % tc.eval_every == 0 or step + 1 == tc.steps:
            val = eval_loss(model, val_ids, tc.eval_windows)
            tr = sum(running) / len(running)
            running = []
            curve.append({"step": step + 1, "train_loss": round(tr, 5), "val_loss": round(val, 5),
                          "seconds": round(time.perf_counter() - t0, 1)})
            bar.set_postfix(train=f"{tr:.3f}", val=f"{val:.3f}")
    train_seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / f"{name}.safetensors"
    save_checkpoint(model, ckpt)
    reloaded = load_checkpoint(ckpt, name)
    val_ppl = perplexity(reloaded)
    log = {
        "name": name,
        "command": " ".join(["python -m lecture_lib.tinylm.train", *sys.argv[1:]]) if command is None else command,
        "seed": tc.seed,
        "model_config": dataclasses.asdict(cfg),
        "train_config": dataclasses.asdict(tc),
        "num_params": num_params(model),
        "stored_dtype": "float32",
        "checkpoint_bytes": ckpt.stat().st_size,
        "checkpoint_sha256": hashlib.sha256(ckpt.read_bytes()).hexdigest(),
        "weights_sha256": weights_sha256(reloaded),
        "corpus_sha256": SNAPSHOT_SHA256,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "threads": threads,
        "train_wall_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "tokens_seen": tc.steps * tc.batch_size * cfg.block_size,
        "final_val_perplexity": round(val_ppl, 4),
        "final_val_loss_nats": round(math.log(val_ppl), 5),
        "perplexity_eval": f"validation split, windows of block_size={cfg.block_size}, stride={cfg.block_size // 2}",
        "loss_curve": curve,
    }
    (out_dir / f"{name}_train.json").write_text(json.dumps(log, indent=1) + "\n")
    return log


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train the tiny LM teacher or student reproducibly.")
    ap.add_argument("--name", choices=sorted(PRESETS), required=True)
    ap.add_argument("--seed", type=int, default=None, help="default: the preset's seed (0)")
    ap.add_argument("--steps", type=int, default=None, help="override the preset's number of steps")
    ap.add_argument("--out", type=Path, default=DATA_DIR, help="output folder (default: the package data)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--override", action="append", default=[],
                    help="KEY=VALUE for a GPTConfig or TrainConfig field (pilot runs)")
    args = ap.parse_args(argv)
    cfg, tc = PRESETS[args.name]
    if args.seed is not None:
        tc = dataclasses.replace(tc, seed=args.seed)
    if args.steps is not None:
        tc = dataclasses.replace(tc, steps=args.steps)
    for item in args.override:
        key, _, value = item.partition("=")
        if key in {f.name for f in dataclasses.fields(GPTConfig)}:
            cfg = dataclasses.replace(cfg, **{key: type(getattr(cfg, key))(value)})
        elif key in {f.name for f in dataclasses.fields(TrainConfig)}:
            tc = dataclasses.replace(tc, **{key: type(getattr(tc, key))(value)})
        else:
            ap.error(f"--override key must be a GPTConfig or TrainConfig field; got {key!r}")
    log = train(args.name, cfg, tc, args.out, threads=args.threads)
    print(json.dumps({k: log[k] for k in ("name", "num_params", "train_wall_seconds", "final_val_perplexity")}))


if __name__ == "__main__":
    main()
