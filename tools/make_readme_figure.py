"""Draw the README's picture: quantization error vs bits for three scale granularities.

    python tools/make_readme_figure.py          # writes docs/img/quantization_error.png

The weight matrix is 256 x 256 Gaussian with one scale per row spanning a 30x range (real LLM layers have a
few such loud output channels). Error is the relative RMS error ||dequantize(quantize(W)) - W|| / ||W|| using
lecture_lib.quant (symmetric, round-half-to-even), taught in notebooks/partA_quantization.ipynb.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from lecture_lib import quant  # noqa: E402
from lecture_lib.nbsetup import setup  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "img" / "quantization_error.png"
SCHEMES = {
    "one scale per tensor": {"axis": None},
    "one scale per output channel": {"axis": 0},
    "one scale per group of 32": {"group_size": 32},
}


def relative_errors(weight: torch.Tensor, bits: range) -> dict[str, list[float]]:
    norm = weight.pow(2).mean().sqrt()
    return {
        name: [float((quant.dequantize(quant.quantize(weight, b, **kw)) - weight).pow(2).mean().sqrt() / norm)
               for b in bits]
        for name, kw in SCHEMES.items()
    }


def main() -> None:
    setup()
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(256, 256, generator=gen) * torch.logspace(-1.5, 0, 256).unsqueeze(1)
    bits = range(2, 9)
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=90)
    for (name, errors), marker in zip(relative_errors(weight, bits).items(), "osD"):
        _ = ax.semilogy(list(bits), [100 * e for e in errors], marker=marker, label=name)
    ax.set_xlabel("bits per weight")
    ax.set_ylabel("relative RMS error (%)")
    ax.set_title("Quantizing a 256×256 weight matrix: finer scales, smaller error")
    ax.legend()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, metadata={"Software": None})
    print(f"wrote {OUT.relative_to(OUT.parents[2])} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
