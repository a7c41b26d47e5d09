"""Tests for lecture_lib.observability: JSON logs, trace context, W3C ids, birthday bound, sampling."""

from __future__ import annotations

import asyncio
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib.observability import (
    ManualClock,
    Tracer,
    cardinality,
    collision_probability,
    current_span,
    entropy_bits,
    expected_sampling_cost,
    format_traceparent,
    ids_for_collision_probability,
    make_logger,
    observed_cardinality,
    parse_traceparent,
    random_id,
    render_tree,
    sample_head,
    sample_tail,
    sampling_result,
    simulate_collisions,
    synthetic_requests,
    tail_buffer_bytes,
)

# ------------------------------------------------------------------------------------------------
# Spans, trace context, logs
# ------------------------------------------------------------------------------------------------


def _setup(seed: int = 0):
    clock = ManualClock()
    tracer = Tracer(rng=np.random.default_rng(seed), clock=clock)
    buf = io.StringIO()
    log = make_logger("svc", buf, clock=clock)
    return clock, tracer, buf, log


def test_spans_form_a_tree_and_logs_carry_the_context() -> None:
    clock, tracer, buf, log = _setup()
    with tracer.span("request", route="/generate") as root:
        log.info("start", extra={"tokens": 5})
        with tracer.span("tokenize") as tok:
            clock.advance(0.002)
            log.info("tokenized")
        with tracer.span("decode") as dec:
            clock.advance(0.05)
    log.info("done")
    assert current_span() is None
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [x["message"] for x in lines] == ["start", "tokenized", "done"]
    assert lines[0]["trace_id"] == f"{root.trace_id:032x}" and lines[0]["span_id"] == f"{root.span_id:016x}"
    assert lines[0]["tokens"] == 5
    assert lines[1]["span_id"] == f"{tok.span_id:016x}" and lines[1]["ts"] == 0.002
    assert lines[2]["trace_id"] is None
    # the tree: one trace id, parent links, durations from the clock
    assert {s.trace_id for s in tracer.finished} == {root.trace_id}
    assert tok.parent_id == root.span_id and dec.parent_id == root.span_id and root.parent_id is None
    assert root.duration == pytest.approx(0.052)
    assert render_tree(tracer.finished) == "request (52.0 ms)\n  tokenize (2.0 ms)\n  decode (50.0 ms)"
    assert 0 < root.trace_id < 2**128 and 0 < root.span_id < 2**64


def test_exception_marks_span_and_is_logged() -> None:
    _, tracer, buf, log = _setup()
    with pytest.raises(KeyError):
        with tracer.span("lookup"):
            try:
                raise KeyError("missing")
            except KeyError:
                log.exception("lookup failed")
                raise
    (span,) = tracer.finished
    assert span.status == "error" and span.attributes["exception.type"] == "KeyError"
    rec = json.loads(buf.getvalue())
    assert rec["level"] == "ERROR" and rec["exc_type"] == "KeyError"


def test_context_follows_asyncio_tasks() -> None:
    _, tracer, buf, log = _setup(1)

    async def handle(name: str) -> int:
        with tracer.span(name) as s:
            await asyncio.sleep(0)  # interleave the two tasks
            log.info(name)
            await asyncio.sleep(0)
            log.info(name)
            return s.trace_id

    async def main() -> list[int]:
        return await asyncio.gather(handle("a"), handle("b"))

    ids = asyncio.run(main())
    assert ids[0] != ids[1]
    recs = [json.loads(x) for x in buf.getvalue().splitlines()]
    for r in recs:
        assert r["trace_id"] == f"{ids[0 if r['message'] == 'a' else 1]:032x}"


def test_traceparent_continues_a_remote_trace() -> None:
    _, upstream, _, _ = _setup(2)
    _, downstream, _, _ = _setup(3)
    with upstream.span("client") as c:
        header = c.traceparent
    with downstream.span("server", traceparent=header) as s:
        pass
    assert s.trace_id == c.trace_id and s.parent_id == c.span_id
    assert header == f"00-{c.trace_id:032x}-{c.span_id:016x}-01"


@settings(max_examples=100, deadline=None)
@given(t=st.integers(min_value=1, max_value=2**128 - 1), s=st.integers(min_value=1, max_value=2**64 - 1),
       sampled=st.booleans())
def test_traceparent_round_trip(t: int, s: int, sampled: bool) -> None:
    assert parse_traceparent(format_traceparent(t, s, sampled=sampled)) == (t, s, sampled)


@pytest.mark.parametrize(
    "header",
    [
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",  # zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01",  # zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # uppercase
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # 31 hex digits
        "nonsense",
    ],
)
def test_invalid_traceparent_rejected(header: str) -> None:
    with pytest.raises(ValueError, match="traceparent"):
        parse_traceparent(header)


def test_w3c_example_header_parses() -> None:
    t, s, sampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert t == 0x4BF92F3577B34DA6A3CE929D0E0E4736 and s == 0x00F067AA0BA902B7 and sampled


def test_ids_are_seeded_and_full_width() -> None:
    a = [random_id(128, np.random.default_rng(9)) for _ in range(2)]
    assert a[0] == a[1]
    ids = [random_id(64, np.random.default_rng(i)) for i in range(200)]
    assert max(ids).bit_length() == 64  # the top bit is used
    with pytest.raises(ValueError, match="bits must be 64"):
        random_id(32, np.random.default_rng(0))


def test_render_tree_rejects_broken_traces() -> None:
    _, t1, _, _ = _setup(4)
    with t1.span("a"):
        pass
    with t1.span("b"):
        pass
    with pytest.raises(ValueError, match="one trace"):
        render_tree(t1.finished)


def test_loggers_are_independent() -> None:
    b1, b2 = io.StringIO(), io.StringIO()
    l1, l2 = make_logger("same", b1), make_logger("same", b2)
    l1.info("one")
    assert b2.getvalue() == "" and "one" in b1.getvalue()
    assert l2 is not l1


def test_entropy() -> None:
    assert entropy_bits([1.0]) == 0.0  # a log line that always says the same thing carries no information
    assert entropy_bits([0.25] * 4) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="sum to 1"):
        entropy_bits([0.5, 0.6])


# ------------------------------------------------------------------------------------------------
# Birthday bound
# ------------------------------------------------------------------------------------------------


def test_birthday_numbers_from_the_errata() -> None:
    assert collision_probability(1e15, 128) == pytest.approx(1.469e-9, rel=1e-3)
    assert collision_probability(1e15, 122) == pytest.approx(9.4e-8, rel=1e-2)  # UUIDv4
    assert ids_for_collision_probability(0.5, 64) == pytest.approx(5.06e9, rel=1e-2)
    assert ids_for_collision_probability(0.01, 64) == pytest.approx(6.09e8, rel=1e-2)
    assert collision_probability(1e12, 64) > 0.999_999  # certain at the lecture's "danger zone"
    # the lecture's n^2 / (2 N) agrees while P is small
    assert collision_probability(1e15, 128) == pytest.approx(1e30 / 2**129, rel=1e-6)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(min_value=2, max_value=5000), bits=st.integers(min_value=16, max_value=40))
def test_approximation_close_to_exact_product(n: int, bits: int) -> None:
    exact = collision_probability(n, bits, exact=True)
    approx = collision_probability(n, bits)
    # 1 - exp(-n(n-1)/2N) vs prod(1 - i/N): relative gap of order n^3 / N^2
    assert approx == pytest.approx(exact, rel=1e-3 + 10 * n**3 / 2.0 ** (2 * bits), abs=1e-15)


@pytest.mark.parametrize(("n", "bits"), [(300, 16), (100, 12), (1000, 20)])
def test_simulated_collisions_match_exact(n: int, bits: int) -> None:
    trials = 20_000
    got = simulate_collisions(n, bits, trials, rng=np.random.default_rng(n))
    exact = collision_probability(n, bits, exact=True)
    se = math.sqrt(exact * (1 - exact) / trials)
    assert abs(got - exact) < 4 * se
    # negative control: the n^2 / (2N) first-order formula is measurably wrong at P ~ 0.5
    first_order = n * n / 2.0 ** (bits + 1)
    if exact > 0.3:
        assert abs(got - first_order) > 4 * se


# ------------------------------------------------------------------------------------------------
# Head vs tail sampling
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stream() -> dict[str, np.ndarray]:
    return synthetic_requests(400_000, error_rate=0.01, error_size_factor=3.0, rng=np.random.default_rng(0))


def _se_bytes(requests, keep) -> float:
    x = requests["size"] * keep
    return float(x.std(ddof=1) / math.sqrt(x.size))


def test_head_sampling_matches_formula(stream) -> None:
    keep = sample_head(stream, 0.1, rng=np.random.default_rng(1))
    got = sampling_result(stream, keep)
    f = expected_sampling_cost("head", error_rate=0.01, error_size_factor=3.0, rate=0.1)
    assert abs(got.bytes_per_request - f["bytes_per_request"]) < 4 * _se_bytes(stream, keep)
    se_err = math.sqrt(0.1 * 0.9 / got.errors)
    assert abs(got.p_kept_given_error - 0.1) < 4 * se_err  # P(kept | error) = rho
    # negative control: the lecture's rho * P(error) is a joint probability, not P(kept | error)
    assert abs(got.p_kept_given_error - 0.1 * 0.01) > 4 * se_err


def test_tail_sampling_matches_formula_and_keeps_every_error(stream) -> None:
    keep = sample_tail(stream, keep_normal_rate=0.01, slow_threshold=0.5, rng=np.random.default_rng(2))
    got = sampling_result(stream, keep)
    f = expected_sampling_cost("tail", error_rate=0.01, error_size_factor=3.0, keep_normal_rate=0.01,
                               slow_threshold=0.5)
    se = _se_bytes(stream, keep)
    assert abs(got.bytes_per_request - f["bytes_per_request"]) < 4 * se
    assert got.p_kept_given_error == 1.0
    # negative control: forgetting the slow traces in the formula is caught
    no_slow = expected_sampling_cost("tail", error_rate=0.01, error_size_factor=3.0, keep_normal_rate=0.01)
    assert abs(got.bytes_per_request - no_slow["bytes_per_request"]) > 4 * se
    # tail keeps all errors at less storage than head at 10 %
    head = expected_sampling_cost("head", error_rate=0.01, error_size_factor=3.0, rate=0.1)
    assert f["bytes_per_request"] < head["bytes_per_request"]


def test_tail_buffer_is_littles_law() -> None:
    assert tail_buffer_bytes(1000, 30, 4000) == 120_000_000  # 1000 req/s x 30 s x 4 kB = 120 MB


def test_cardinality() -> None:
    assert cardinality({"user_id": 10**6, "endpoint": 100, "status": 50}) == 5 * 10**9
    seen = [{"endpoint": e, "status": s} for e in ("/a", "/b") for s in ("200", "500")] * 3
    assert observed_cardinality(seen) == 4 <= cardinality({"endpoint": 2, "status": 2})
    with pytest.raises(ValueError, match="integer number of values"):
        cardinality({"x": 0})


def test_bad_inputs() -> None:
    with pytest.raises(TypeError, match="rng"):
        Tracer(rng=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="clocks do not run backwards"):
        ManualClock().advance(-1)
    with pytest.raises(ValueError, match="trace_id"):
        format_traceparent(0, 1)
    with pytest.raises(ValueError, match="bits must be an integer in 1..62"):
        simulate_collisions(10, 64, 10, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="p must be a probability"):
        ids_for_collision_probability(1.0, 64)
    with pytest.raises(ValueError, match="rate must be a sampling probability"):
        sample_head({"is_error": np.zeros(3, bool)}, 1.5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="policy"):
        expected_sampling_cost("middle", error_rate=0.1)
    with pytest.raises(ValueError, match="name"):
        make_logger("", io.StringIO())
