"""Part C's Rust-ideas experiments: monad laws by hypothesis, singledispatch coherence, golden signals of an
incident, log information, series memory, shrinking. Each has a negative control."""

from __future__ import annotations

import math

import pytest

from lecture_lib import errors, fuzzing, queueing
from lecture_lib.experiments import partC
from lecture_lib.experiments import partC_ideas as ideas


def test_ok_err_satisfies_the_monad_laws() -> None:
    assert ideas.check_monad_laws(max_examples=150) == {k: None for k in ideas.check_monad_laws(max_examples=1)}


def test_a_bind_that_does_not_short_circuit_is_caught() -> None:
    # negative control: a bind that calls f on an Err (with a default value) breaks right identity
    def recovering_bind(m, f):
        return f(m.value) if isinstance(m, errors.Ok) else f(0)

    found = ideas.check_monad_laws(recovering_bind, max_examples=150)
    assert found["right identity  m >>= unit == m"] is not None
    assert "Err" in found["right identity  m >>= unit == m"]


def test_last_singledispatch_registration_wins_silently() -> None:
    a = ideas.dispatch_winner(("metrics_plugin", "tracing_plugin"))
    b = ideas.dispatch_winner(("tracing_plugin", "metrics_plugin"))
    assert a["result"] != b["result"]  # the import order decides
    assert a["result"] == repr(float(__import__("numpy").float32(0.1))) and b["result"] == 0.1
    # with newtypes each plugin keeps its behaviour whatever the order
    assert a["newtype"] == b["newtype"] == {"metrics_plugin": 0.1, "tracing_plugin": a["result"]}
    with pytest.raises(ValueError, match="order"):
        ideas.dispatch_winner(("metrics_plugin",))


def test_golden_signals_of_calm_minutes_match_mm1_and_the_incident_shows_in_all_four() -> None:
    df = ideas.golden_signals_incident(minutes=10, seed=0)
    calm = df[(~df["incident"]) & (df.index < 4)]
    f = queueing.mm1(30.0, 50.0)
    assert calm["saturation"].mean() == pytest.approx(f.rho, rel=0.06)
    assert calm["traffic (req/s)"].mean() == pytest.approx(30.0, rel=0.05)
    assert calm["p50 (ms)"].median() == pytest.approx(1000 * math.log(2) * f.W, rel=0.15)
    bad = df[df["incident"]]
    assert (bad["saturation"] > 1).all() and (bad["errors (%)"] > 3).all()
    assert bad["p99 (ms)"].min() > 20 * calm["p99 (ms)"].max()
    # negative control: traffic is flat through the incident - it is not the signal that moves
    assert abs(bad["traffic (req/s)"].mean() / calm["traffic (req/s)"].mean() - 1) < 0.1


def test_log_information() -> None:
    info = ideas.log_information(ideas.log_stream(3000, seed=1))
    assert info["message_entropy_bits"] < 0.11  # the message type carries almost nothing...
    assert info["share_of_bytes_request_done"] > 0.97  # ...and the routine lines are the volume
    assert info["zlib_bits_per_line"] > info["id_bits_per_line"]  # random ids do not compress
    assert info["info_bits"]["backend timeout"] == pytest.approx(-math.log2(0.001))
    # negative control: a log of one constant message has zero entropy
    assert ideas.log_information(ideas.log_stream(50, mix={"request done": 1.0}),
                                 mix={"request done": 1.0})["message_entropy_bits"] == 0


def test_series_memory_grows_with_buckets() -> None:
    counter, hist = ideas.series_memory(500), ideas.series_memory(500, kind="histogram")
    assert 100 < counter < hist
    with pytest.raises(ValueError, match="kind"):
        ideas.series_memory(10, kind="gauge")


def test_shrinking_reaches_the_same_minimal_counterexample() -> None:
    d = ideas.shrink_demo()
    assert d["hypothesis_minimal"] == [-1.0] == d["greedy_path"][-1]
    path = d["greedy_path"]
    assert len(path) > 5 and all(len(a) >= len(b) for a, b in zip(path, path[1:]))
    fn = partC.BUGS["signed scale (max instead of max|w|)"]
    assert all(not partC._matches_oracle(fn, xs) for xs in path)  # every step still fails
    # negative control: the minimal example is minimal - none of its simpler candidates fails
    assert all(partC._matches_oracle(fn, c) for c in fuzzing.shrink_candidates(path[-1]))
    with pytest.raises(ValueError, match="failing"):
        fuzzing.greedy_shrink([1.0, 2.0], lambda xs: False)
