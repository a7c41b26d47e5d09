"""Training-step cost of mixed precision and gradient checkpointing on the tiny LM, and our loss scaler
against torch.amp.GradScaler.

Run: python benchmarks/bench_mixed_precision.py [--model teacher] [--batch 8] [--repeats 5] [--threads 1]

1. One forward + backward + AdamW step of the tiny LM in fp32, under bf16 autocast and under fp16
   autocast (all real on CPU), median seconds and the ratio to fp32. Whether bf16 is faster depends on
   the CPU: without bf16 matrix instructions (AVX512-BF16 / AMX) the casts cost more than they save.
2. Gradient checkpointing with k = 0..n segments: median forward + backward seconds and the ratio to
   k = 0 (repeats interleaved across k), next to the memory the same step keeps (exact, saved tensors).
3. The loss scaler's per-step overhead: ``LossScaler.unscale_ + update`` against ``GradScaler.unscale_ +
   update`` on the tiny LM's gradients, and the update rule alone: ``update_scale`` (Python floats) against
   ``torch._amp_update_scale_`` (the kernel GradScaler.update runs). Before timing, both scalers run the
   same gradient sequence (with inf/NaN steps) and must produce the same scales and skip decisions.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lecture_lib import checkpointing as ck
from lecture_lib import mixed_precision as mp
from lecture_lib import tinylm
from lecture_lib.tinylm.train import sample_batch


def get_model(name: str) -> tuple[torch.nn.Module, str]:
    try:
        return tinylm.load(name).train(), f"tinylm.load({name!r})"
    except FileNotFoundError:
        cfg = tinylm.GPTConfig(block_size=128, n_layer=8, n_head=4, n_embd=128)
        torch.manual_seed(0)
        return tinylm.TinyGPT(cfg).train(), "teacher-shaped TinyGPT, random weights (checkpoint not found)"


def median(xs):
    return statistics.median(xs)


def bench_precision(model, x, y, repeats):
    opt = torch.optim.AdamW(model.parameters(), lr=0.0)  # lr 0: the weights stay put across repeats
    dtypes = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
    times = {k: [] for k in dtypes}
    losses = {}
    for r in range(repeats + 1):
        for name, dt in dtypes.items():
            opt.zero_grad(set_to_none=True)
            t0 = time.perf_counter()
            if dt is None:
                loss = ck.lm_loss(model, x, y)
            else:
                with torch.autocast("cpu", dtype=dt):
                    loss = ck.lm_loss(model, x, y)
            loss.backward()
            opt.step()
            if r > 0:
                times[name].append(time.perf_counter() - t0)
            losses[name] = float(loss.detach())
    print("\n1) training step (forward + backward + AdamW), median of", repeats)
    print(f"   {'precision':10s} {'seconds':>9s} {'ratio to fp32':>14s} {'loss':>8s}")
    base = median(times["fp32"])
    for name in dtypes:
        print(f"   {name:10s} {median(times[name]):9.4f} {median(times[name]) / base:14.2f} {losses[name]:8.4f}")


def bench_checkpointing(model, x, y, repeats):
    rows = ck.tradeoff_curve(model, x, y, repeats=repeats)
    n = len(model.blocks)
    print(f"\n2) gradient checkpointing, {n} blocks (sqrt rule: {ck.sqrt_rule(n)} segments), median of {repeats}")
    print(f"   {'segments':>8s} {'seconds':>9s} {'time ratio':>11s} {'peak MB':>9s} {'memory ratio':>13s}")
    for r in rows:
        print(f"   {r['segments']:8d} {r['seconds']:9.4f} {r['time_ratio']:11.2f} {r['peak_bytes'] / 2**20:9.2f} "
              f"{r['peak_fraction']:13.3f}")
    print("   (analytic time ratio with backward = 2 x forward and every block recomputed: 4/3 = 1.33)")


def check_same_decisions():
    inf, nan = float("inf"), float("nan")
    seq = [1.0] * 4 + [inf] + [1.0] * 5 + [nan, 1e36, 1.0, 1.0, 1.0]
    p1 = torch.nn.Parameter(torch.ones(3))
    p2 = torch.nn.Parameter(torch.ones(3))
    o1, o2 = torch.optim.SGD([p1], lr=0.1), torch.optim.SGD([p2], lr=0.1)
    theirs = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=3)
    ours = mp.LossScaler(init_scale=2.0**16, growth_interval=3)
    s1, s2 = [], []
    for g in seq:
        for p, o, sc, out in ((p1, o1, theirs, s1), (p2, o2, ours, s2)):
            o.zero_grad()
            loss = (p * g).sum()
            (sc.scale(loss) if sc is theirs else sc.scale_loss(loss)).backward()
            sc.step(o)
            sc.update()
            out.append(float(sc.get_scale()) if sc is theirs else sc.scale)
    assert s1 == s2 and torch.equal(p1, p2), (s1, s2)
    return s1


def bench_scaler(model, x, y, repeats):
    scales = check_same_decisions()
    print("\n3) loss scaler: same scale sequence as GradScaler on a 15-step sequence with inf/NaN:",
          [int(s) for s in scales])
    loss = ck.lm_loss(model, x, y)
    loss.backward()
    grads = [p.grad.detach().clone() for p in model.parameters()]
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=0.0)

    def load_grads():
        for p, g in zip(params, grads):
            p.grad.copy_(g)

    inner = 50
    theirs = torch.amp.GradScaler("cpu")
    ours = mp.LossScaler()
    t_theirs, t_ours = [], []
    for _ in range(repeats + 1):
        tt = to = 0.0
        for _ in range(inner):
            load_grads()
            theirs.scale(torch.ones(()))
            t0 = time.perf_counter()
            theirs.unscale_(opt)
            theirs.update()
            tt += time.perf_counter() - t0
            load_grads()
            t0 = time.perf_counter()
            ours.unscale_(opt)
            ours.update()
            to += time.perf_counter() - t0
        t_theirs.append(tt / inner)
        t_ours.append(to / inner)
    a, b = median(t_ours[1:]), median(t_theirs[1:])
    print(f"   unscale_ + update on {len(params)} gradient tensors ({sum(g.numel() for g in grads):,} values):")
    print(f"   ours {a * 1e6:9.1f} us   GradScaler {b * 1e6:9.1f} us   ratio ours/GradScaler {a / b:6.2f}")

    n = 20000
    s_t = torch.full((), 2.0**16)
    tr_t = torch.zeros((), dtype=torch.int32)
    fi = torch.zeros(())
    t0 = time.perf_counter()
    for _ in range(n):
        torch._amp_update_scale_(s_t, tr_t, fi, 2.0, 0.5, 2000)
    b = (time.perf_counter() - t0) / n
    s, tr = 2.0**16, 0
    t0 = time.perf_counter()
    for _ in range(n):
        s, tr = mp.update_scale(s, tr, False)
    a = (time.perf_counter() - t0) / n
    assert s == s_t.item() and tr == tr_t.item()
    print(f"   update rule alone: ours {a * 1e6:7.2f} us   torch._amp_update_scale_ {b * 1e6:7.2f} us   "
          f"ratio {a / b:6.2f}")


def summary(quick: bool = True) -> list[dict]:
    """Rows for ``benchmarks/run_all.py``: the loss scaler's unscale_ + update vs GradScaler's (ours / peer,
    medians, after checking both make the same decisions; no stated goal)."""
    check_same_decisions()
    model, _ = get_model("teacher")
    data = torch.tensor(tinylm.encode(tinylm.train_text()), dtype=torch.long)
    x, y = sample_batch(data, model.config.block_size, 2 if quick else 8, torch.Generator().manual_seed(0))
    ck.lm_loss(model, x, y).backward()
    params = list(model.parameters())
    grads = [p.grad.detach().clone() for p in params]
    opt = torch.optim.SGD(params, lr=0.0)
    theirs, ours = torch.amp.GradScaler("cpu"), mp.LossScaler()
    t_t, t_o = [], []
    for _ in range(20 if quick else 100):
        for p, g in zip(params, grads):
            p.grad.copy_(g)
        theirs.scale(torch.ones(()))
        t0 = time.perf_counter()
        theirs.unscale_(opt)
        theirs.update()
        t_t.append(time.perf_counter() - t0)
        for p, g in zip(params, grads):
            p.grad.copy_(g)
        t0 = time.perf_counter()
        ours.unscale_(opt)
        ours.update()
        t_o.append(time.perf_counter() - t0)
    a, b = median(t_o), median(t_t)
    return [{"benchmark": "loss scaler unscale_+update / GradScaler", "ours": f"{a * 1e6:.0f} us",
             "peer": f"{b * 1e6:.0f} us", "ratio": a / b, "goal": "-"}]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="teacher")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, desc = get_model(args.model)
    data = torch.tensor(tinylm.encode(tinylm.train_text()), dtype=torch.long)
    x, y = sample_batch(data, model.config.block_size, args.batch, torch.Generator().manual_seed(0))
    print(f"model: {desc}; {tinylm.num_params(model):,} parameters; batch {args.batch} x {model.config.block_size}; "
          f"threads={args.threads}; torch {torch.__version__}")
    bench_precision(model, x, y, args.repeats)
    bench_checkpointing(model, x, y, args.repeats)
    bench_scaler(model, x, y, args.repeats)


if __name__ == "__main__":
    main()
