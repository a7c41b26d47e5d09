"""Part C experiments, plots/widgets and graded exercises.

Experiments: each result is checked against its formula or oracle within a stated tolerance, and the claims the
notebook prints in prose are asserted here. The grading contract (solution full marks, exercise zero, each wrong
answer loses exactly its points) is tested for every part in tests/test_grade.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import metrics, quant, slo, stats
from lecture_lib.experiments import partC as ex
from lecture_lib.grade.core import questions_for

QUESTIONS = questions_for("C")
MAX = sum(q.points for q in QUESTIONS)


# ================================================================================ widget pure functions
def test_slo_summary_matches_the_formulas_and_alert_rules():
    s = ex.slo_summary(0.999, 0.0144)
    assert math.isclose(s["budget_minutes"], 43.2) and math.isclose(s["burn_rate"], 14.4)
    assert math.isclose(s["exhaustion_hours"], 50.0)
    assert s["firing"] == ["fast burn", "medium burn", "slow burn"]
    assert s["alerts"].loc["fast burn", "detection (min)"] == pytest.approx(60.0)
    assert ex.slo_summary(0.999, 0.002)["firing"] == ["slow burn"]
    assert ex.slo_summary(0.999, 0.002)["alerts"].loc["slow burn", "detection (min)"] == pytest.approx(36 * 60)
    quiet = ex.slo_summary(0.99, 0.002)
    assert quiet["firing"] == [] and math.isclose(quiet["exhaustion_hours"], 150 * 24)
    assert math.isinf(ex.slo_summary(0.999, 0.0)["exhaustion_hours"])
    with pytest.raises(ValueError, match="slo"):
        ex.slo_summary(99.9, 0.01)


def test_find_bug_summary_curve_and_simulation():
    s = ex.find_bug_summary(100, 0.01, 0.05)
    assert s["cases_needed"] == 299 and math.isclose(s["p_find"], 1 - 0.99**100)
    assert np.all(np.diff(s["curve"]) >= 0) and s["n"][0] == 0 and s["curve"][0] == 0
    df = ex.find_bug_check(0.01, (100, 299), runs=5000, seed=1)
    assert (df["|diff| / s.e."] < 4).all()


def test_bucket_error_is_bounded_by_the_bucket_width():
    lat = ex.latency_samples(5000, seed=3)
    for kind in ex.LAYOUTS:
        for count in (4, 12, 40):
            r = ex.bucket_error(kind, count, lat)
            assert r["abs_error"] <= r["bucket_width"] + 1e-12
            assert r["exact"] == metrics.exact_quantile(lat, 0.99)
    fine = ex.bucket_error("linear", 2000, lat)
    assert fine["rel_error"] < 0.01
    with pytest.raises(ValueError, match="kind"):
        ex.bucket_layout("quadratic", 10)
    with pytest.raises(ValueError, match="count"):
        ex.bucket_layout("linear", 1)


def test_latency_samples_are_seeded_and_validated():
    assert np.array_equal(ex.latency_samples(100, seed=5), ex.latency_samples(100, seed=5))
    assert (ex.latency_samples(1000) > 0).all()
    with pytest.raises(ValueError, match="n must be"):
        ex.latency_samples(0)


# ================================================================================ experiments
def test_incident_experiment_tells_the_notebook_story():
    inc = ex.incident_experiment(seed=0)
    t = inc["table"]
    wb = ["fast burn", "medium burn", "slow burn"]
    assert all(math.isinf(t.loc[a, "blip: fires after (min)"]) for a in wb), "the blip must page nobody"
    assert t.loc["naive: 5 min >= 14.4", "blip: fires after (min)"] < 10
    # fast burn: burn 100 crosses 14.4 in the 1 h window after 60 * 14.4/100 = 8.6 min
    assert 8 <= t.loc["fast burn", "outage: fires after (min)"] <= 10
    assert t.loc["fast burn", "outage: stops after its end (min)"] <= 6
    assert t.loc["lecture: 1 h >= 14.4 and 6 h >= 6", "outage: stops after its end (min)"] > 40
    assert math.isinf(t.loc["fast burn", "slow leak: fires after (min)"])
    assert t.loc["slow burn", "slow leak: fires after (min)"] < 180
    # windowed burn of the lecture rule vs slo.evaluate_alerts: same window arithmetic
    b1 = slo.windowed_burn_rate(inc["trace"], slo.HOUR, 0.999)
    b5 = slo.windowed_burn_rate(inc["trace"], 5 * slo.MINUTE, 0.999)
    thr = 14.4 * (1 - 1e-9)
    assert np.array_equal((b1 >= thr) & (b5 >= thr), inc["firing"]["fast burn"])


def test_sampling_costs_match_their_formulas():
    df = ex.sampling_costs(n=100_000, seed=2)
    rel = (df["bytes/request (sim)"] - df["bytes/request (formula)"]).abs() / df["bytes/request (formula)"]
    assert (rel < 0.1).all()
    assert df.loc["tail: errors + slow + 1 %", "error traces kept (%)"] == 100.0
    assert df.loc["head 10 %", "bytes/request (sim)"] > df.loc["tail: errors + slow + 1 %", "bytes/request (sim)"]


def test_collision_fail_fast_and_mm1_checks_agree_with_formulas():
    assert (ex.collision_check((12, 16), trials=1000, seed=1)["|diff| / s.e."] < 4).all()
    ff = ex.fail_fast_check((0.1, 0.2, 0.3), trials=5000, seed=1)
    assert math.isclose(ff["formula_fail_fast"], 2.62) and abs(ff["simulated_fail_fast"] - 2.62) < 0.05
    assert ff["simulated_collect_all"] == 3.0
    mm = ex.mm1_check((0.5, 0.7), n_customers=100_000, seed=1)
    assert np.allclose(mm["L simulated"], mm["L formula"], rtol=0.1)
    assert np.allclose(mm["lambda*W / L (Little)"], 1.0, atol=0.01)


def test_planted_bugs_found_missed_and_shrunk():
    signed = ex.planted_bug_hunt("signed scale (max instead of max|w|)", max_examples=100)
    assert signed["found"] and signed["shrunk"] == [-1.0]
    half = "round half up instead of half to even"
    assert not ex.planted_bug_hunt(half, max_examples=50)["found"]
    caught = ex.planted_bug_hunt(half, max_examples=50, boundary_examples=[[7.0, 2.5, -3.5]])
    assert caught["found"] and caught["calls"] == 1
    # negative control: the correct quantizer passes the same property
    assert not ex.planted_bug_hunt("correct (lecture_lib.quant)", max_examples=50)["found"]
    with pytest.raises(ValueError, match="bug must be"):
        ex.planted_bug_hunt("nope")


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-100, 100, allow_nan=False, width=32).map(lambda v: 0.0 if abs(v) < 1e-6 else v),
                min_size=1, max_size=6))
def test_vectorized_bug_codes_equal_the_per_tensor_functions(xs):
    # (tiny magnitudes are zeroed: a float64 scale of a subnormal differs from the vectorized float32 one)
    w = torch.tensor([xs], dtype=torch.float32)
    for bug, fn in ex.BUGS.items():
        assert torch.equal(ex._rowwise_codes(bug, w)[0].to(torch.int64), fn(w[0])[0].to(torch.int64))
    assert torch.equal(ex._rowwise_codes("correct", w)[0].to(torch.int64), quant.quantize(w[0], 4).codes.to(torch.int64))


def test_random_bug_rates():
    assert 0.3 < ex.random_bug_rate("signed scale (max instead of max|w|)", n=4000) < 0.6
    assert ex.random_bug_rate("round half up instead of half to even", n=4000) == 0.0
    assert ex.random_bug_rate("correct (lecture_lib.quant)", n=4000) == 0.0


def test_recorded_timings_and_benchmark_table(tmp_path):
    data = ex.load_timings()
    assert set(data["samples"]) == {"sort", "partition", "sort (A/A rerun)"}
    assert all(len(v) >= 30 and min(v) > 0 for v in data["samples"].values())
    t = ex.benchmark_table(data["samples"], seed=0)
    assert t.loc["partition", "95 % CI high"] < 1 and t.loc["partition", "Mann-Whitney p"] < 1e-6
    aa = t.loc["sort (A/A rerun)"]
    assert aa["95 % CI low"] <= 1 <= aa["95 % CI high"] and aa["Mann-Whitney p"] > 0.05
    # record_timings writes a file load_timings reads back (tiny run)
    path = tmp_path / "t.json"
    ex.record_timings(path, repeats=3, size=2000)
    assert len(ex.load_timings(path)["samples"]["sort"]) == 3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="timings"):
        ex.load_timings(bad)


def test_traced_log_is_deterministic_and_carries_trace_context():
    a, b = ex.traced_request_log(seed=7), ex.traced_request_log(seed=7)
    assert a["lines"] == b["lines"]
    recs = a["records"]
    assert len({r["trace_id"] for r in recs}) == 1 and len(recs[0]["trace_id"]) == 32
    assert recs[1]["level"] == "WARNING" and recs[1]["exc_type"] == "TimeoutError"
    by_name = {s.name: s for s in a["spans"]}
    assert recs[1]["span_id"] == f"{by_name['generate'].span_id:016x}"  # logged by the retry loop in generate
    assert recs[0]["span_id"] == f"{by_name['handle_request'].span_id:016x}"
    assert [s.status for s in a["spans"] if s.name == "backend_call"] == ["error", "ok"]
    assert a["traceparent"].startswith("00-" + recs[0]["trace_id"])
    assert ex.traced_request_log(seed=8)["records"][0]["trace_id"] != recs[0]["trace_id"]


def test_result_and_exception_pipelines_agree():
    from lecture_lib.errors import ApplicationError, Err, Ok, error_chain

    for raw, ok in [('{"prompt": "a", "max_new_tokens": 3}', True), ('{"prompt": "a"}', True),
                    ('{"prompt": 1}', False), ('{"prompt": "a", "max_new_tokens": 0}', False), ("{x", False)]:
        r = ex.handle_request_result(raw)
        assert isinstance(r, Ok if ok else Err)
        if ok:
            assert ex.handle_request_exceptions(raw) == r.value
        else:
            with pytest.raises(ApplicationError) as info:
                ex.handle_request_exceptions(raw)
            assert len(error_chain(info.value)) == 2


def test_claim_table_recomputes_the_corrected_values():
    t = ex.claim_table()
    assert t.loc["cases for p = 0.01, delta = 0.05", "recomputed"] == "299"
    assert t.loc["budget spent by burn 14.4 in 1 h", "recomputed"] == "2.0 %"
    assert t.loc["x_(ceil(0.99*1000)) is the ...-th value", "recomputed"].startswith("990th smallest")
    assert t.index.is_unique and set(t["lecture §"]) <= {"§3.C.1", "§3.C.2", "§3.C.3", "§3.C.4"}
    assert set(t["verdict"]) <= {"correct", "wrong", "misleading"}


def test_plots_and_widgets_build():
    import matplotlib.pyplot as plt

    from lecture_lib.viz import partC as vz

    lat = ex.latency_samples(2000)
    figs = [vz.plot_budget(0.999, 0.0144), vz.plot_budget(0.99, 0.0),
            vz.plot_find_bug(ex.find_bug_summary(50, 0.02), 50, 0.02, 0.05),
            vz.plot_buckets(lat, ex.bucket_error("linear", 10, lat)),
            vz.plot_bucket_error_curve(lat, (4, 8)), vz.plot_incident(ex.incident_experiment()),
            vz.plot_sampling(ex.sampling_costs(n=5000)), vz.plot_benchmark(ex.load_timings()["samples"])]
    for f in figs:
        assert all(ax.get_title() or ax.get_ylabel() for ax in f.axes)
    plt.close("all")
    assert "burn rate" in vz.format_slo_summary(ex.slo_summary(0.999, 0.01), 0.999, 0.01)
    for w in (vz.slo_widget(), vz.find_bug_widget(), vz.bucket_widget(lat)):
        assert len(w.children) == 2
    plt.close("all")


# ================================================================================ graded exercises
def test_part_c_questions():
    regular = questions_for("C", with_challenge=False)
    assert [q.id for q in regular] == ["C1", "C2", "C3", "C4", "C5", "C6"] and sum(q.points for q in regular) == 10
    assert [q.id for q in QUESTIONS] == [*(q.id for q in regular), "C-challenge"] and MAX == 13
    assert all(q.wrong_answers for q in QUESTIONS)

