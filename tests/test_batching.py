"""Tests of lecture_lib.batching: hand-checked schedules, Little's law, the M/G/1 (Pollaczek-Khinchine)
limit at batch size 1 with a negative control, saturation throughput, calibration, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import batching as bt


# ----------------------------------------------------------------------------- hand-checked schedules
def test_two_requests_by_hand():
    # tokens 2 and 4, both at t=0, B=2, step = 1 + 1*B
    static = bt.simulate_batching("static", [0.0, 0.0], [2, 4], max_batch_size=2, a=1, b=1)
    cont = bt.simulate_batching("continuous", [0.0, 0.0], [2, 4], max_batch_size=2, a=1, b=1)
    assert static.completion_times.tolist() == [6.0, 12.0]  # padding: 4 steps of cost 3
    assert static.step_batch_sizes.tolist() == [2, 2, 2, 2]
    assert static.slot_utilization == 6 / 8
    assert cont.completion_times.tolist() == [6.0, 10.0]  # 2 steps of 3, then 2 steps of 2
    assert cont.step_batch_sizes.tolist() == [2, 2, 1, 1]
    assert cont.slot_utilization == 1.0


def test_static_waits_for_a_full_batch_and_dynamic_does_not():
    arr, tok = [0.0, 5.0], [1, 1]
    static = bt.simulate_batching("static", arr, tok, max_batch_size=2, a=1, b=0)
    dynamic = bt.simulate_batching("dynamic", arr, tok, max_batch_size=2, a=1, b=0, max_wait=2.0)
    assert static.completion_times.tolist() == [6.0, 6.0]  # the first request waits for the second
    assert dynamic.completion_times.tolist() == [3.0, 6.0]  # starts after max_wait = 2 s
    dyn0 = bt.simulate_batching("dynamic", arr, tok, max_batch_size=2, a=1, b=0, max_wait=0.0)
    assert dyn0.completion_times.tolist() == [1.0, 6.0]


def test_continuous_admits_at_step_boundaries():
    # a long request runs; a second arrives mid-step and joins at the next boundary
    r = bt.simulate_batching("continuous", [0.0, 0.5], [3, 1], max_batch_size=4, a=1, b=0)
    assert r.start_times.tolist() == [0.0, 1.0]
    assert r.completion_times.tolist() == [3.0, 2.0]
    s = bt.simulate_batching("dynamic", [0.0, 0.5], [3, 1], max_batch_size=4, a=1, b=0)
    assert s.completion_times.tolist() == [3.0, 4.0]  # must wait for the whole batch to finish


# ----------------------------------------------------------------------------- invariants
_workload = st.tuples(
    st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=40),
    st.integers(1, 12),
    st.integers(1, 6),
    st.one_of(st.just(0.0), st.floats(1e-3, 0.5)),
    st.one_of(st.just(0.0), st.floats(1e-3, 0.5)),
    st.floats(0.0, 2.0),
)


@settings(max_examples=80, deadline=None)
@given(w=_workload, policy=st.sampled_from(bt.BATCHING_POLICIES), seed=st.integers(0, 1000))
def test_schedule_invariants_and_littles_law(w, policy, seed):
    gaps, max_tok, B, a, b, max_wait = w
    if a + b == 0:
        a = 0.1
    arr = np.cumsum(gaps)
    tok = np.random.default_rng(seed).integers(1, max_tok + 1, len(arr))
    r = bt.simulate_batching(policy, arr, tok, max_batch_size=B, a=a, b=b, max_wait=max_wait)
    assert np.all(np.isfinite(r.completion_times))
    # every request needs at least n_i steps, each at least a + b long
    assert np.all(r.completion_times >= r.arrival_times + tok * (a + b) - 1e-9)
    assert np.all(r.start_times >= r.arrival_times)
    assert np.all(np.diff(r.start_times) >= 0)  # first come, first served
    assert r.step_batch_sizes.max() <= B
    assert np.all(r.step_active <= r.step_batch_sizes)
    assert r.step_active.sum() == tok.sum()
    if policy == "continuous":
        assert r.slot_utilization == 1.0
    law = r.little_law()
    assert law["L"] == pytest.approx(law["lambda_W"], rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.5, 20.0), max_wait=st.floats(0, 1))
def test_batch_size_one_makes_all_policies_a_fifo_queue(seed, lam, max_wait):
    arr, tok = bt.make_requests(60, lam, output_tokens=(1, 6), seed=seed)
    runs = [
        bt.simulate_batching(p, arr, tok, max_batch_size=1, a=0.02, b=0.01, max_wait=max_wait)
        for p in bt.BATCHING_POLICIES
    ]
    # single-server FIFO recursion: start_i = max(arrival_i, done_{i-1}), done_i = start_i + n_i * (a + b)
    done, prev = [], 0.0
    for t_i, n_i in zip(arr, tok):
        prev = max(t_i, prev) + n_i * 0.03
        done.append(prev)
    for r in runs:
        np.testing.assert_allclose(r.completion_times, done, rtol=1e-12)


def test_littles_law_negative_control():
    """The check has power: counting only time in a batch (not in the queue) breaks it."""
    r = bt.run_batching("dynamic", arrival_rate=30.0, n_requests=800, max_batch_size=4, a=0.02, b=0.01,
                        output_tokens=(4, 12), max_wait=0.05, seed=3)
    law = r.little_law()
    assert law["relative_gap"] < 1e-9
    lam = len(r.arrival_times) / r.end_time
    wrong_W = float((r.completion_times - r.start_times).mean())
    assert abs(law["L"] - lam * wrong_W) / law["L"] > 0.05


# ----------------------------------------------------------------------------- statistical check: M/G/1
def _pk_mean_wait(lam, a, b, lo, hi):
    n = np.arange(lo, hi + 1)
    s = n * (a + b)
    es, es2 = s.mean(), (s**2).mean()
    rho = lam * es
    return lam * es2 / (2 * (1 - rho)), rho, es


def _replicated_mean_waits(policy, lam, reps=8, n=4000):
    out = []
    for seed in range(reps):
        r = bt.run_batching(policy, arrival_rate=lam, n_requests=n, max_batch_size=1, a=0.01, b=0.01,
                            output_tokens=(1, 8), seed=100 + seed)
        out.append(r.waits[n // 10 :].mean())  # drop a warm-up tenth
    return np.array(out)


def test_batch_size_one_matches_pollaczek_khinchine():
    lam = 7.0
    wq, rho, es = _pk_mean_wait(lam, 0.01, 0.01, 1, 8)
    assert 0.5 < rho < 0.7
    means = _replicated_mean_waits("continuous", lam)
    se = means.std(ddof=1) / np.sqrt(len(means))
    assert abs(means.mean() - wq) < 4 * se + 0.02 * wq
    # negative control: the M/M/1 formula (exponential service with the same mean) must be rejected
    wq_mm1 = rho * es / (1 - rho)
    assert abs(means.mean() - wq_mm1) > 4 * se + 0.02 * wq


# ----------------------------------------------------------------------------- throughput
def test_saturated_batches_reach_the_cost_model_ceiling():
    B, a, b, k, T = 8, 0.03, 0.004, 5, 7
    arr = np.zeros(B * k)
    for policy in bt.BATCHING_POLICIES:
        r = bt.simulate_batching(policy, arr, np.full(B * k, T), max_batch_size=B, a=a, b=b)
        assert r.throughput_tokens == pytest.approx(bt.max_throughput(B, a, b), rel=1e-12)
    heavy = bt.run_batching("continuous", arrival_rate=1e4, n_requests=3000, max_batch_size=B, a=a, b=b,
                            output_tokens=(5, 15), seed=0)
    assert heavy.throughput_tokens == pytest.approx(bt.max_throughput(B, a, b), rel=0.01)


def test_max_throughput_grows_with_batch_toward_one_over_b():
    vals = [bt.max_throughput(B, 0.05, 0.002) for B in (1, 2, 4, 8, 64, 4096)]
    assert all(x < y for x, y in zip(vals, vals[1:]))
    assert vals[-1] < 1 / 0.002
    assert vals[-1] == pytest.approx(1 / 0.002, rel=0.01)
    assert bt.step_time(4, 0.05, 0.002) == pytest.approx(0.058)


def test_sweep_rows():
    rows = bt.sweep(["static", "continuous"], arrival_rates=[1.0, 4.0], batch_sizes=[1, 4], n_requests=50,
                    a=0.02, b=0.005, output_tokens=8)
    assert len(rows) == 8
    assert {"arrival_rate", "offered_load", "p99_latency_s", "throughput_tokens_per_s"} <= rows[0].keys()
    assert rows[0]["offered_load"] == pytest.approx(1.0 * 8 * 0.025)


# ----------------------------------------------------------------------------- bandwidth bound
def test_bandwidth_bound():
    assert bt.weight_bytes_per_token(4e9, 8) == 5e8
    assert bt.decode_step_lower_bound(4e9, 50e9) == pytest.approx(0.08)
    assert bt.decode_step_lower_bound(4e9, 50e9, batch_size=4, kv_bytes_per_sequence=1e8) == pytest.approx(
        (4e9 + 4e8) / 50e9
    )


# ----------------------------------------------------------------------------- calibration
def test_measure_and_fit_with_a_fake_clock():
    now = [0.0]

    def clock():
        return now[0]

    def step(bs):
        now[0] += 0.004 + 0.0015 * bs

    times = bt.measure_step_times(step, [1, 2, 4, 8], repeats=3, clock=clock)
    assert times[4] == pytest.approx(0.01)
    a, b = bt.fit_step_cost(list(times), list(times.values()))
    assert a == pytest.approx(0.004) and b == pytest.approx(0.0015)


def test_fit_recovers_noisy_line():
    rng = np.random.default_rng(0)
    bs = np.repeat([1, 2, 4, 8, 16], 20)
    y = 0.01 + 0.002 * bs + rng.normal(0, 1e-4, bs.size)
    a, b = bt.fit_step_cost(bs, y)
    assert a == pytest.approx(0.01, rel=0.02) and b == pytest.approx(0.002, rel=0.02)


def test_copy_bandwidth_is_positive():
    assert bt.measure_copy_bandwidth(2**20, repeats=2) > 0


# ----------------------------------------------------------------------------- bad inputs
def test_bad_inputs():
    ok = dict(max_batch_size=2, a=0.01, b=0.01)
    with pytest.raises(ValueError, match="policy must be one of"):
        bt.simulate_batching("greedy", [0.0], [1], **ok)
    with pytest.raises(ValueError, match="non-decreasing"):
        bt.simulate_batching("static", [1.0, 0.5], [1, 1], **ok)
    with pytest.raises(ValueError, match="non-decreasing"):
        bt.simulate_batching("static", [float("nan")], [1], **ok)
    with pytest.raises(ValueError, match="integers >= 1"):
        bt.simulate_batching("static", [0.0], [0], **ok)
    with pytest.raises(ValueError, match="integers >= 1"):
        bt.simulate_batching("static", [0.0], [1.5], **ok)
    with pytest.raises(ValueError, match="one entry per request"):
        bt.simulate_batching("static", [0.0, 1.0], [1], **ok)
    with pytest.raises(ValueError, match="at least one request"):
        bt.simulate_batching("static", [], [], **ok)
    with pytest.raises(ValueError, match="max_batch_size must be an integer >= 1"):
        bt.simulate_batching("static", [0.0], [1], max_batch_size=0, a=0.1, b=0.1)
    with pytest.raises(TypeError, match="max_batch_size must be an integer"):
        bt.simulate_batching("static", [0.0], [1], max_batch_size=2.0, a=0.1, b=0.1)
    with pytest.raises(ValueError, match="a must be a finite number >= 0"):
        bt.simulate_batching("static", [0.0], [1], max_batch_size=1, a=-1, b=0.1)
    with pytest.raises(ValueError, match=r"a \+ b must be > 0"):
        bt.simulate_batching("static", [0.0], [1], max_batch_size=1, a=0, b=0)
    with pytest.raises(ValueError, match="max_wait must be"):
        bt.simulate_batching("dynamic", [0.0], [1], max_wait=-1, **ok)
    with pytest.raises(ValueError, match="arrival_rate must be a finite number > 0"):
        bt.make_requests(10, 0.0)
    with pytest.raises(ValueError, match="1 <= lo <= hi"):
        bt.make_requests(10, 1.0, output_tokens=(5, 2))
    with pytest.raises(TypeError, match="output_tokens must be an int or a"):
        bt.make_requests(10, 1.0, output_tokens=[1, 2, 3])
    with pytest.raises(ValueError, match="two distinct sizes"):
        bt.fit_step_cost([4, 4], [0.1, 0.2])
    with pytest.raises(ValueError, match="times must be finite"):
        bt.fit_step_cost([1, 2], [0.1, float("nan")])
    with pytest.raises(ValueError, match="bandwidth must be a finite number > 0"):
        bt.decode_step_lower_bound(1e9, 0)
    with pytest.raises(ValueError, match="q must be a quantile"):
        bt.simulate_batching("static", [0.0], [1], **ok).latency_quantile(1.5)
    with pytest.raises(ValueError, match="batch_sizes must list"):
        bt.measure_step_times(lambda b: None, [])


def test_tinylm_decode_step_runs_one_cached_token():
    import torch

    from lecture_lib.tinylm import GPTConfig, TinyGPT

    torch.manual_seed(0)
    model = TinyGPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=64)).eval()
    step = bt.tinylm_decode_step(model, context_len=16)
    seen = []
    h = model.register_forward_pre_hook(lambda m, args, kwargs: seen.append((tuple(args[0].shape), len(kwargs["cache"]))),
                                        with_kwargs=True)
    step(3)
    step(3)
    step(5)
    h.remove()
    # batch 3: prefill 16 tokens, then one token at position 16 (twice: the cache is rolled back)
    assert seen == [((3, 16), 0), ((3, 1), 16), ((3, 1), 16), ((5, 16), 0), ((5, 1), 16)]
    times = bt.measure_step_times(step, [1, 2], repeats=2)
    assert set(times) == {1, 2} and all(t > 0 for t in times.values())


# ----------------------------------------------------------------------------- FLOPs of a decode step
def _counted_step_flops(model, cached: int, batch: int = 1) -> int:
    """PyTorch's own FLOP count of one cached decoding step after ``cached`` positions (math attention,
    which the counter sees as matrix products)."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    idx = torch.randint(0, model.config.vocab_size, (batch, cached + 1), generator=torch.Generator().manual_seed(0))
    cache = model.new_cache(batch)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        model(idx[:, :cached], cache=cache)
        with FlopCounterMode(display=False) as counter:
            model(idx[:, cached:], cache=cache)
    return counter.get_total_flops()


@pytest.mark.parametrize("name, cached, batch", [("teacher", 16, 1), ("teacher", 100, 1), ("student", 40, 3)])
def test_decode_step_flops_equal_pytorchs_count(name, cached, batch):
    from lecture_lib import tinylm

    m = tinylm.load(name)
    c = m.config
    ours = bt.decode_step_flops(c.n_layer, c.n_embd, cached + 1, vocab_size=c.vocab_size, batch_size=batch)
    assert ours["total"] == _counted_step_flops(m, cached, batch)
    # control: the lecture's O(T d^2) attention term would not match
    assert ours["total"] - ours["attention"] + c.n_layer * (cached + 1) * c.n_embd**2 != _counted_step_flops(m, cached, batch)


def test_decode_step_flops_parts():
    f = bt.decode_step_flops(40, 5120, 4096, d_ff=13824, gated=True, vocab_size=32000)
    assert f["attention"] == 40 * 4 * 4096 * 5120
    assert f["mlp"] == 40 * 6 * 5120 * 13824
    assert f["total"] == f["projections"] + f["mlp"] + f["attention"] + f["head"]
    assert bt.decode_step_flops(2, 8, 3, batch_size=5)["total"] == 5 * bt.decode_step_flops(2, 8, 3)["total"]


@pytest.mark.parametrize("kwargs, err, name", [
    ({"n_layer": 0}, ValueError, "n_layer"), ({"d_model": 2.5}, TypeError, "d_model"),
    ({"context_len": 0}, ValueError, "context_len"), ({"gated": 1}, TypeError, "gated"),
    ({"vocab_size": -1}, ValueError, "vocab_size"), ({"batch_size": 0}, ValueError, "batch_size"),
])
def test_decode_step_flops_bad_input(kwargs, err, name):
    args = {"n_layer": 2, "d_model": 8, "context_len": 3, **kwargs}
    with pytest.raises(err, match=name):
        bt.decode_step_flops(**args)


# ------------------------------------------------------------------------------ a scheduler of your own
def _greedy(max_batch):
    return lambda now, waiting: [w[0] for w in waiting[:max_batch]]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.5, 40.0), max_batch=st.integers(1, 16))
def test_a_greedy_scheduler_replays_as_dynamic_batching_without_waiting(seed, lam, max_batch):
    """Run everything waiting (up to the batch size) whenever the server is idle = ``dynamic`` with max_wait 0."""
    arr, tok = bt.make_requests(300, lam, output_tokens=(1, 40), seed=seed)
    ref = bt.simulate_batching("dynamic", arr, tok, max_batch_size=max_batch, a=0.01, b=0.002, max_wait=0.0)
    schedule = bt.simulate_scheduler(_greedy(max_batch), arr, tok, max_batch_size=max_batch, a=0.01, b=0.002)
    got = bt.replay_batches(schedule, arr, tok, max_batch_size=max_batch, a=0.01, b=0.002)
    np.testing.assert_allclose(got.start_times, ref.start_times, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.completion_times, ref.completion_times, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got.step_batch_sizes, ref.step_batch_sizes)
    np.testing.assert_array_equal(got.step_active, ref.step_active)
    assert got.little_law()["relative_gap"] < 1e-9


def test_a_scheduler_that_waits_is_asked_again_and_sees_only_the_past():
    arr, tok = np.array([0.0, 0.1, 0.25, 2.0]), np.array([3, 1, 2, 1])
    seen = []

    def batch_of_three(now, waiting):
        seen.append((now, [w[0] for w in waiting]))
        return [w[0] for w in waiting] if len(waiting) >= 3 or now >= 1.0 else 0.4

    schedule = bt.simulate_scheduler(batch_of_three, arr, tok, max_batch_size=4, a=0.1, b=0.05)
    assert seen[:3] == [(0.0, [0]), (0.1, [0, 1]), (0.25, [0, 1, 2])]  # each arrival asks again, before the wait ends
    assert schedule == [(0.25, [0, 1, 2]), (2.0, [3])]
    res = bt.replay_batches(schedule, arr, tok, max_batch_size=4, a=0.1, b=0.05)
    # a batch of 3 steps 0.25 s: request 1 (one token) is done after one step, request 0 after three
    np.testing.assert_allclose(res.completion_times, [1.0, 0.5, 0.75, 2.15])
    np.testing.assert_array_equal(res.step_batch_sizes, [3, 3, 3, 1])
    np.testing.assert_array_equal(res.step_active, [3, 2, 1, 1])


@pytest.mark.parametrize("schedule,words", [
    ([(0.0, [0, 1])], "before its last request arrives"),
    ([(0.5, [0]), (0.6, [1])], "before the server is free"),
    ([(1.0, [0, 1]), (9.0, [1])], "already served"),
    ([(1.0, [0])], "every request must be in a batch"),
    ([(1.0, [0, 1, 2])], "1..max_batch_size=2"),
    ([(1.0, [0, 7])], "distinct request ids in 0..1"),
    ([("soon", [0, 1])], "(start_time, request ids)"),
])
def test_replay_rejects_a_schedule_that_breaks_a_rule(schedule, words):
    with pytest.raises(ValueError) as err:
        bt.replay_batches(schedule, [0.0, 0.5], [2, 2], max_batch_size=2, a=0.1, b=0.1)
    assert words in str(err.value)


def test_simulate_scheduler_rejects_bad_decisions():
    arr, tok = np.array([0.0, 1.0]), np.array([1, 1])
    for decision, words in (([5], "among the waiting"), ([], "1..max_batch_size"), (0.0, "> 0"), ("x", "list of request ids")):
        with pytest.raises(ValueError) as err:
            bt.simulate_scheduler(lambda now, waiting, d=decision: d, arr, tok, max_batch_size=2, a=0.1, b=0.1)
        assert words in str(err.value)
    with pytest.raises(ValueError, match="keeps waiting"):
        bt.simulate_scheduler(lambda now, waiting: 1.0, arr, tok, max_batch_size=2, a=0.1, b=0.1)
    with pytest.raises(TypeError, match="scheduler must be callable"):
        bt.simulate_scheduler(None, arr, tok, max_batch_size=2, a=0.1, b=0.1)
