"""Part E experiments, plots/widgets and graded exercises, against the notebook's claims.

Measurements here are exact (gradient counts, saved bytes, simulated requests), never timed. The grading contract
(solution full marks, exercise zero, each wrong answer loses exactly its points) is tested for every part in
tests/test_grade.py; here only what is special to Part E's questions.
"""

from __future__ import annotations

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import batching as bt
from lecture_lib import mixed_precision as mp
from lecture_lib.experiments import partE as ex
from lecture_lib.grade.core import find_question, questions_for
from lecture_lib.viz import partE as viz



@pytest.fixture(scope="module")
def small_grads():
    torch.manual_seed(0)
    return ex.gradient_snapshot("student", batch_size=2, block_size=32, loss_weight=ex.LOSS_WEIGHT)


# ---------------------------------------------------------------------------------------------- mixed precision
def test_loss_scale_summary_shares_add_up_and_move_the_right_way(small_grads):
    rows = ex.loss_scale_sweep(small_grads, (0, 8, 12, 30))
    shares = rows[["vanished", "subnormal", "normal", "overflow"]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    assert rows["vanished"].iloc[0] > 0.01 and rows["vanished"].iloc[2] < rows["vanished"].iloc[0] / 10  # scaling rescues them
    assert rows["overflow"].iloc[0] == 0 and rows["overflow"].iloc[-1] > 0 and bool(rows["step_skipped"].iloc[-1])


def test_loss_scale_summary_matches_a_direct_fp16_cast(small_grads):
    """Oracle: torch's own float16 cast of s * g."""
    g = torch.cat([t.reshape(-1) for t in small_grads]).double()
    for e in (0, 10):
        cast = (g * 2.0**e).half()
        nz = g != 0
        want = float(((cast == 0) & nz).sum()) / float(nz.sum())
        assert math.isclose(ex.loss_scale_summary(small_grads, e)["vanished"], want, rel_tol=1e-12)


def test_loss_scale_summary_rejects_bad_input(small_grads):
    with pytest.raises(TypeError, match="log2_scale"):
        ex.loss_scale_summary(small_grads, float("nan"))
    with pytest.raises(ValueError, match="fmt"):
        ex.loss_scale_summary(small_grads, 0, "fp12")


def test_fp16_training_without_scaling_stalls_and_scaling_recovers_fp32():
    runs = ex.precision_training(["fp32", "fp16, no loss scaling", "fp16 + dynamic loss scaling"], steps=40,
                                 init_scale=2.0**32)
    s = ex.training_summary(runs, last=10).set_index("config")
    last = "mean_loss_last_10"
    assert s.loc["fp16, no loss scaling", "mean_zero_grad_fraction"] > 0.5 > s.loc["fp32", "mean_zero_grad_fraction"]
    assert s.loc["fp16, no loss scaling", last] > s.loc["fp32", last] + 0.2
    assert abs(s.loc["fp16 + dynamic loss scaling", last] - s.loc["fp32", last]) < 0.1
    assert s.loc["fp16 + dynamic loss scaling", "skipped_steps"] >= 1  # 2^32 overflows at first, then backs off
    assert (runs.groupby("config")["step"].count() == 40).all()


def test_precision_training_rejects_unknown_configs():
    with pytest.raises(ValueError, match="configs"):
        ex.precision_training(["fp8"], steps=1)
    with pytest.raises(ValueError, match="steps"):
        ex.precision_training(steps=0)


def test_real_fp16_vanishing_has_both_failure_modes():
    t = ex.real_fp16_vanishing("student", (0, 24), batch_size=2, block_size=32)
    assert t["vanished_real"].iloc[0] > 0 and t["overflow_real"].iloc[0] == 0
    assert t["overflow_real"].iloc[1] > 0 and t["overflow_emulated"].iloc[1] > 0


def test_lecture_checks_teach_the_corrected_values():
    t = ex.lecture_checks().set_index("quantity")["computed"]
    assert t["FP16 max"] == 65504.0 and t["FP16 min normal"] == 2.0**-14 and t["FP16 min subnormal"] == 2.0**-24
    assert t["1e-6 stored in FP16"].startswith("subnormal: 1.0133e-06")
    assert t["largest value that rounds to 0"] == 2.0**-25
    assert t["largest gradient before overflow at s = 1024"] == pytest.approx(63.97, abs=0.01)


# ---------------------------------------------------------------------------------------------- checkpointing
@pytest.fixture(scope="module")
def ck_table():
    return ex.checkpoint_memory("teacher", batch_size=2, block_size=32)


def test_checkpoint_memory_is_exact_and_matches_the_model(ck_table):
    assert ck_table["segments"].tolist() == list(range(7))
    assert np.allclose(ck_table["predicted_peak_bytes"], ck_table["peak_bytes"], rtol=1e-9)
    peak = ck_table.set_index("segments")["peak_bytes"]
    assert peak[1] == peak[0]  # one segment is recomputed whole
    assert peak[6] < peak[3] < peak[2] < peak[0]
    kept = ck_table["forward_saved_bytes"].to_numpy()
    assert np.all(np.diff(kept[1:]) > 0)  # more segments keep more inputs


def test_checkpoint_summary_and_bad_segments(ck_table):
    r = ex.checkpoint_summary(ck_table, 2)
    assert math.isclose(r["kept_MiB"] + r["recompute_MiB"], r["peak_MiB"])
    assert r["analytic_time_ratio"] == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match="segments"):
        ex.checkpoint_summary(ck_table, 9)
    with pytest.raises(TypeError, match="segments"):
        ex.checkpoint_summary(ck_table, 2.0)


# ---------------------------------------------------------------------------------------------- batching
A, B = 0.0017, 0.0001


def test_batching_summary_little_law_and_policy_order():
    rows = {p: ex.batching_summary(p, 16, 200.0, a=A, b=B) for p in bt.BATCHING_POLICIES}
    for r in rows.values():
        assert r["little_L"] == pytest.approx(r["mean_latency_s"] * r["throughput_requests_per_s"], rel=1e-9)
    assert rows["continuous"]["p99_latency_s"] < rows["static"]["p99_latency_s"]


def test_little_law_table_gaps_are_tiny_and_a_wrong_integral_would_fail():
    t = ex.little_law_table(A, B, arrival_rates=(50,), n_requests=200)
    assert (t["relative_gap"] < 1e-9).all()
    # negative control: counting only requests in a batch (not the queue) breaks the law at high load
    res = bt.run_batching("static", arrival_rate=300.0, n_requests=200, max_batch_size=8, a=A, b=B)
    in_batch = float(np.sum(res.completion_times - res.start_times)) / res.end_time
    assert abs(in_batch - res.little_law()["lambda_W"]) / res.little_law()["lambda_W"] > 0.05


@settings(max_examples=15, deadline=None)
@given(bs=st.integers(1, 64), lam=st.floats(5.0, 300.0), policy=st.sampled_from(bt.BATCHING_POLICIES))
def test_batching_summary_throughput_never_beats_the_cost_model(bs, lam, policy):
    r = ex.batching_summary(policy, bs, lam, a=A, b=B, n_requests=100)
    assert r["throughput_tokens_per_s"] <= bt.max_throughput(bs, A, B) * (1 + 1e-9)
    assert r["p99_latency_s"] >= r["p50_latency_s"] > 0


def test_bandwidth_table_bound():
    t = ex.bandwidth_table(4.9e6, 1e10, A, B, (1, 4))
    assert t["weight_bytes_per_token"].tolist() == [4.9e6, 4.9e6 / 4]
    assert np.allclose(t["bound_us"], 490.0)
    with pytest.raises(ValueError, match="bandwidth"):
        ex.bandwidth_table(4.9e6, 0.0, A, B)


def test_recorded_timings_file_and_ratios():
    data = ex.load_timings()
    r = ex.timing_ratios(data)
    assert set(r["precision"]["model"]) == {"student", "teacher"}
    assert r["checkpoint"].set_index("segments")["time_ratio"][0] == 1.0
    cal = data["decode"]
    assert cal["a"] > 0 and cal["b"] > 0 and len(cal["seconds"]) == len(cal["batch_sizes"])
    # the fit is the least-squares line through the recorded points
    a, b = bt.fit_step_cost(cal["batch_sizes"], cal["seconds"])
    assert (a, b) == (cal["a"], cal["b"])


def test_load_timings_rejects_other_files(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"samples": {}}))
    with pytest.raises(ValueError, match="record_timings"):
        ex.load_timings(p)


def test_record_timings_writes_what_load_timings_reads(tmp_path, monkeypatch):
    """With a fake clock (no real timing): the file's structure round-trips."""
    ticks = iter(range(10**9))
    monkeypatch.setattr(ex, "precision_step_times", lambda name, repeats, clock: {"fp32": [1.0], "bf16": [1.5], "fp16": [2.0]})
    monkeypatch.setattr(ex.ck, "tradeoff_curve", lambda *a, **k: [{"segments": s, "seconds": 1.0 + s / 10} for s in range(3)])
    monkeypatch.setattr(ex, "decode_calibration", lambda name, clock: {"model": name, "batch_sizes": [1, 2], "seconds": [1.0, 2.0], "a": 0.0, "b": 1.0})
    monkeypatch.setattr(ex.bt, "measure_copy_bandwidth", lambda clock: 1e10)
    out = ex.record_timings(tmp_path / "t.json", clock=lambda: float(next(ticks)))
    back = ex.load_timings(tmp_path / "t.json")
    assert back["precision_steps"] == out["precision_steps"]
    assert ex.timing_ratios(back)["checkpoint"]["time_ratio"].round(2).tolist() == [1.0, 1.1, 1.2]


# ---------------------------------------------------------------------------------------------- plots
def test_plots_have_titles_and_labels(small_grads, ck_table):
    runs = pd.DataFrame({"config": ["fp32"] * 2 + ["fp16 + dynamic loss scaling"] * 2, "step": [0, 1, 0, 1],
                         "loss": [4.0, 3.9, 4.0, 3.9], "scale": [1.0, 1.0, 2.0**16, 2.0**15],
                         "skipped": [False, False, True, False], "zero_fraction": [0.1] * 4})
    curves = ex.batching_curves(A, B, arrival_rates=(50, 100), batch_sizes=(1, 8), n_requests=60)
    figs = [viz.plot_gradient_histogram(small_grads, scales=(1.0, 2.0**12)),
            viz.plot_loss_scale(ex.loss_scale_sweep(small_grads, (0, 10, 20)), 10),
            viz.plot_checkpoint(ck_table, 2), viz.plot_training(runs, loss_weight=ex.LOSS_WEIGHT),
            viz.plot_decode_calibration({"model": "teacher", "batch_sizes": [1, 2, 4], "seconds": [1e-3, 1.1e-3, 1.3e-3],
                                         "a": 9e-4, "b": 1e-4}),
            viz.plot_batching_point(curves, ex.batching_summary("continuous", 8, 50.0, a=A, b=B, n_requests=60))]
    for fig in figs:
        for ax in fig.axes:
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        plt.close(fig)


# ---------------------------------------------------------------------------------------------- graded exercises
def test_part_e_questions_and_points():
    qs = questions_for("E")
    assert [q.id for q in qs] == ["E1", "E2", "E3", "E4", "E5", "E6"]
    assert sum(q.points for q in qs) == 12 and all(q.wrong_answers for q in qs)


def test_e1_reference_agrees_with_torch_casts():
    """The judge's categories (from mixed_precision.classify) against torch's float16 cast."""
    for v in find_question("E1").make_inputs(np.random.default_rng(3))["values"]:
        h = float(torch.tensor(v, dtype=torch.float64).half())
        want = ("inf" if math.isinf(h) else "zero" if h == 0 else "subnormal" if abs(h) < 2.0**-14 else "normal")
        got = {"underflow_to_zero": "zero", "overflow": "inf"}.get(mp.classify(v, "fp16"), mp.classify(v, "fp16"))
        assert got == want, v

