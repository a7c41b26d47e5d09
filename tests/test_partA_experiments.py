"""Part A experiments and plots: pure functions behind the notebook's tables, widgets and Lecture checks.

A small randomly initialised TinyGPT stands in for the shipped checkpoints (fast, and independent of them).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lecture_lib import fp8, kvcache, quant
from lecture_lib.experiments import partA as E
from lecture_lib.tinylm.model import GPTConfig, TinyGPT
from lecture_lib.viz import partA as V


@pytest.fixture(scope="module")
def model() -> TinyGPT:
    torch.manual_seed(0)
    return TinyGPT(GPTConfig(block_size=32, n_layer=2, n_head=2, n_embd=32), name="tiny").eval()


@pytest.fixture(scope="module")
def text() -> str:
    return E.eval_text(32 * 6 + 1)


# ------------------------------------------------------------------------------------------------ Zone 1
@pytest.mark.parametrize("gran", E.GRANULARITIES)
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_weight_view_levels_errors_and_bytes(gran, symmetric, bits):
    w = torch.randn(16, 128, generator=torch.Generator().manual_seed(1)) * 0.02
    v = E.weight_view(w, bits, symmetric=symmetric, granularity=gran, row=3)
    n_levels = 2**bits - 1 if symmetric else 2**bits
    assert len(v["levels"]) == n_levels
    assert np.allclose(np.diff(v["levels"].numpy()), v["scale"], rtol=1e-5)
    # every dequantized value of the shown slice is one of the levels
    expected = {"per-tensor": w.numel(), "per-channel": 128, "group-32": 32, "group-128": 128}[gran]
    assert v["values"].numel() == expected
    assert v["stats"]["max_abs_error"] <= float(quant.quantize(w, bits, symmetric=symmetric, axis=None if gran != "per-channel" else 0,
                                                            group_size=None if not gran.startswith("group") else int(gran[6:])).expanded_scale().max()) / 2 + 1e-7
    assert 0.15 < v["stats"]["mean_error_over_scale"] < 0.35  # about 1/4 for many weights per scale
    assert v["compression"] == pytest.approx(v["fp32_bytes"] / v["nbytes"])
    assert "bytes" in V.weight_summary(v)


def test_weight_view_rejects_bad_input():
    w = torch.randn(4, 8)
    with pytest.raises(ValueError, match="granularity"):
        E.weight_view(w, 4, granularity="per-row")
    with pytest.raises(ValueError, match="row"):
        E.weight_view(w, 4, row=4)
    with pytest.raises(ValueError, match="2-d"):
        E.weight_view(torch.randn(8), 4)
    with pytest.raises(ValueError, match="bits"):
        E.weight_view(w, 9)


@pytest.mark.parametrize("fmt", fp8.FP8_FORMATS)
def test_fp8_relative_error_within_unit_roundoff_in_the_normal_range(fmt):
    info = fp8.format_info(fmt)
    df = E.fp8_relative_error(fmt)
    normal = df[(df["x"] >= info["min_normal"]) & (df["x"] <= info["max"])]
    assert normal["rel_error"].max() <= info["unit_roundoff"] + 1e-9
    assert normal["rel_error"].max() > 0.8 * info["unit_roundoff"]  # the bound is nearly reached
    # a wrong bound (the lecture's epsilon 2**-M applied to the max) would be twice too loose
    assert normal["rel_error"].max() < info["machine_epsilon"] * 0.6


def test_fp8_overflow_table_both_modes():
    df = E.fp8_overflow_table().set_index("x")
    assert df.loc[1000.0, "E4M3 saturate"] == 448.0 and math.isnan(df.loc[1000.0, "E4M3 no saturate"])
    assert df.loc[464.0, "E4M3 no saturate"] == 448.0  # the tie rounds to the even mantissa, no overflow
    assert math.isnan(df.loc[465.0, "E4M3 no saturate"])
    assert df.loc[1e5, "E5M2 saturate"] == 57344.0 and math.isinf(df.loc[1e5, "E5M2 no saturate"])
    assert df.loc[math.inf, "E4M3 saturate"] == 448.0


def test_fp8_view_probe_value():
    v = E.fp8_view("e4m3", 1000.0)
    assert v["stored"] == 448.0 and v["rel_error"] == pytest.approx(0.552)
    assert len(v["positive_values"]) == 126 and v["positive_values"].max() == 448.0
    v2 = E.fp8_view("e5m2", 1000.0)
    assert v2["stored"] == 1024.0
    assert "E4M3" in V.fp8_summary(v)
    with pytest.raises(ValueError):
        E.fp8_view("e4m3", float("nan"))
    assert E.fp8_probe("e4m3", 1000.0, saturate=False)["stored"] != E.fp8_probe("e4m3", 1000.0)["stored"]
    assert math.isnan(E.fp8_probe("e4m3", 1000.0, saturate=False)["rel_error"])


# ------------------------------------------------------------------------------------------------ Zones 2, 3
def test_rate_distortion_table_ordering_and_gaps():
    df = E.rate_distortion_table(range(2, 9))
    assert (df["bound"] < df["lloyd_max"]).all()
    assert (df["lloyd_max"] <= df["uniform_opt_clip"] * (1 + 1e-9)).all()
    assert (df["int_b_opt_clip"] < df["uniform_absmax"]).all()
    row4 = df.set_index("bits").loc[4]
    assert row4["lloyd_max"] == pytest.approx(0.009497, rel=1e-3)
    assert row4["lloyd_max_db"] == pytest.approx(3.86, abs=0.02)  # errata row 27


def test_matmul_identity_correct_form_exact_lecture_form_wrong():
    r = E.matmul_identity_check(seed=0)
    assert r["correct_max_abs_diff"] < 1e-9 * r["output_scale"]
    assert r["lecture_max_abs_diff"] > 0.1 * r["output_scale"]


# ------------------------------------------------------------------------------------------------ Zone 5
def test_linear_weight_bytes_formulas(model):
    lins = [m for m in model.modules() if isinstance(m, nn.Linear)]
    n = sum(m.weight.numel() for m in lins)
    rows = sum(m.weight.shape[0] for m in lins)
    assert E.linear_weight_bytes(model, {"kind": "fp32"}) == 4 * n
    assert E.linear_weight_bytes(model, {"kind": "int", "bits": 8, "axis": 0}) == n + 4 * rows
    assert E.linear_weight_bytes(model, {"kind": "int", "bits": 4, "axis": None}) == sum(
        math.ceil(m.weight.numel() / 2) + 4 for m in lins)
    assert E.linear_weight_bytes(model, {"kind": "int", "bits": 4, "group_size": 16}) == n // 2 + 4 * (n // 16)
    assert E.linear_weight_bytes(model, {"kind": "fp8", "bits": 8, "fmt": "e4m3"}) == n + 4 * rows
    with pytest.raises(ValueError, match="kind"):
        E.linear_weight_bytes(model, {"kind": "int2"})


def test_ptq_table_baseline_and_monotone_bits(model, text):
    schemes = [s for s in E.PTQ_SCHEMES if s.get("group_size") != 128]
    df = E.ptq_table(model, text, schemes)
    assert df["increase_pct"].iloc[0] == 0.0
    assert df["perplexity"].iloc[0] == pytest.approx(E.model_perplexity(model, text))
    by = df.set_index("scheme")
    assert by.loc["INT8 per-channel", "linear_kib"] < by.loc["FP32 (baseline)", "linear_kib"] / 3.5
    assert abs(by.loc["INT8 per-channel", "increase_pct"]) < abs(by.loc["INT3 per-channel", "increase_pct"]) + 1e-9


def test_kv_cache_fp32_matches_plain_perplexity_and_bytes_formula(model, text):
    plain = E.model_perplexity(model, text)
    r = E.kv_cache_perplexity(model, "fp32", text)
    assert r["perplexity"] == pytest.approx(plain, rel=1e-5)
    cfg = model.config
    hd = cfg.n_embd // cfg.n_head
    for kind in ("int8", "int4", "fp8", "fp16"):
        got = E.kv_cache_perplexity(model, kind, text)
        per_value = kvcache.bytes_per_value(kind, hd)
        expected = kvcache.kv_cache_bytes(cfg.n_layer, cfg.n_head, hd, cfg.block_size, 1, per_value)
        assert got["cache_bytes"] == pytest.approx(expected)
    # a quantized cache changes the logits (negative control for a cache that is silently bypassed)
    assert E.kv_cache_perplexity(model, "int4", text)["perplexity"] != pytest.approx(plain, rel=1e-6)
    df = E.kv_cache_table(model, ("fp32", "int8"), text)
    assert df["memory_vs_first"].iloc[1] == pytest.approx((1 + 4 / hd) / 4)
    with pytest.raises(ValueError, match="kind"):
        E.kv_cache_perplexity(model, "int3", text)


def test_fake_quant_model_computes_what_the_deployed_model_computes(model):
    x = torch.randint(0, model.config.vocab_size, (2, 16), generator=torch.Generator().manual_seed(0))
    fq = E._with_fake_quant(model, 3, 0, None)
    deployed = quant.quantize_weights(model, 3, axis=0)
    with torch.no_grad():
        assert torch.allclose(fq(x), deployed(x), atol=1e-5)
    back = E._strip_fake_quant(fq)
    assert all(type(m) is nn.Linear for m in back.modules() if isinstance(m, nn.Linear))
    with torch.no_grad():
        assert torch.equal(back(x), model(x))


def test_qat_finetune_is_deterministic_and_zero_steps_is_identity(model):
    same = E.qat_finetune(model, 4, steps=0)
    assert all(torch.equal(a, b) for a, b in zip(same.state_dict().values(), model.state_dict().values()))
    a = E.qat_finetune(model, 4, steps=2, batch_size=2)
    b = E.qat_finetune(model, 4, steps=2, batch_size=2)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), model.state_dict().values()))
    with pytest.raises(ValueError, match="steps"):
        E.qat_finetune(model, 4, steps=-1)


def test_qat_vs_ptq_rows(model, text):
    df = E.qat_vs_ptq(model, 3, steps=1, batch_size=2, text=text)
    assert len(df) == 4 and df["increase_pct"].iloc[0] == 0.0
    assert df["perplexity"].iloc[1] == pytest.approx(E.model_perplexity(quant.quantize_weights(model, 3), text))


# ------------------------------------------------------------------------------------------------ Zone 6
def test_gptq_model_rtn_equals_quantize_weights_and_gptq_differs(model, text):
    calib = E.calibration_inputs(model, n_windows=2)
    assert set(calib) == {n for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    rtn = E.gptq_model(model, 4, calib, method="rtn")
    ref = quant.quantize_weights(model, 4, axis=0)
    for (n1, p1), (n2, p2) in zip(rtn.named_parameters(), ref.named_parameters()):
        assert torch.allclose(p1, p2, atol=1e-7), n1
    g = E.gptq_model(model, 4, calib)
    assert not torch.equal(g.lm_head.weight, rtn.lm_head.weight)
    df = E.gptq_table(model, (4,), calib=calib, text=text)
    assert list(df["method"]) == ["round-to-nearest", "GPTQ"]
    with pytest.raises(ValueError, match="method"):
        E.gptq_model(model, 4, calib, method="awq")


# ------------------------------------------------------------------------------------------------ plots
def test_plots_return_labelled_figures(model, text):
    import matplotlib.pyplot as plt

    figs = [
        V.plot_weight_view(E.weight_view(torch.randn(8, 64), 4)),
        V.plot_fp8_view(E.fp8_view("e5m2", 3.0)),
        V.plot_rate_distortion(E.rate_distortion_table(range(2, 5))),
        V.plot_ptq(E.ptq_table(model, text, E.PTQ_SCHEMES[:3])),
        V.plot_kv_cache(E.kv_cache_table(model, ("fp32", "int8"), text)),
        V.plot_gptq(E.gptq_table(model, (4,), calib=E.calibration_inputs(model, 1), text=text)),
    ]
    for fig in figs:
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel()
        plt.close(fig)


def test_widgets_build():
    pytest.importorskip("ipywidgets")
    import matplotlib.pyplot as plt

    ui = V.weight_widget(torch.randn(8, 64))
    assert len(ui.children) == 3
    ui2 = V.fp8_widget()
    assert len(ui2.children) == 3
    plt.close("all")


def test_qat_finetune_dtype_is_checked():
    import torch

    from lecture_lib import tinylm
    from lecture_lib.experiments import partA as E

    with pytest.raises(ValueError, match="dtype must be torch.float32 or torch.float64"):
        E.qat_finetune(tinylm.load("student"), 3, steps=0, dtype=torch.float16)
