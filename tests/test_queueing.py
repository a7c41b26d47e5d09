"""Tests for lecture_lib.queueing: Little's law and M/M/1 against simulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib.queueing import littles_law, measure, mm1, simulate_mm1, simulate_single_server


def test_littles_law_lecture_numbers() -> None:
    assert littles_law(L=10, arrival_rate=100) == pytest.approx(0.1)
    assert littles_law(L=10, arrival_rate=200) == pytest.approx(0.05)
    assert littles_law(arrival_rate=100, W=0.1) == pytest.approx(10)
    assert littles_law(L=10, W=0.1) == pytest.approx(100)


def test_mm1_formulas_lecture_numbers() -> None:
    a, b = mm1(7, 10), mm1(9, 10)
    assert (a.L, b.L) == (pytest.approx(7 / 3), pytest.approx(9.0))
    assert b.L / a.L == pytest.approx(3.857, abs=1e-3)  # "about 4x"
    assert (a.Lq, b.Lq) == (pytest.approx(1.633, abs=1e-3), pytest.approx(8.1))
    assert b.Lq / a.Lq == pytest.approx(4.96, abs=0.01)
    # Little's law holds inside the formulas, for the system and for the queue
    for m, lam in ((a, 7), (b, 9)):
        assert m.L == pytest.approx(lam * m.W)
        assert m.Lq == pytest.approx(lam * m.Wq)
        assert m.W == pytest.approx(m.Wq + 1 / 10)


@pytest.mark.parametrize(
    ("rho", "n", "tol"),
    [
        # tolerances: relative error of the seeded run; at rho = 0.9 the sojourn times are correlated
        # over ~1/(mu (1 - sqrt(rho))^2) = 40 s, so a run needs many more customers for the same accuracy
        (0.5, 200_000, 0.02),
        (0.7, 200_000, 0.03),
        (0.9, 1_000_000, 0.05),
    ],
)
def test_simulation_matches_mm1(rho: float, n: int, tol: float) -> None:
    mu = 10.0
    lam = rho * mu
    m = measure(simulate_mm1(lam, mu, n, rng=np.random.default_rng(2024)))
    f = mm1(lam, mu)
    assert m["L"] == pytest.approx(f.L, rel=tol)
    assert m["Lq"] == pytest.approx(f.Lq, rel=tol * 1.5)
    assert m["W"] == pytest.approx(f.W, rel=tol)
    assert m["Wq"] == pytest.approx(f.Wq, rel=tol * 1.5)
    assert m["utilisation"] == pytest.approx(rho, rel=0.01)
    assert m["arrival_rate"] == pytest.approx(lam, rel=0.01)
    # negative control: the same measurement rejects the wrong formula L = rho / (1 - rho)**2
    assert m["L"] != pytest.approx(rho / (1 - rho) ** 2, rel=tol)
    # and the queue length is not the number in the system (the lecture's L vs Lq)
    assert m["Lq"] != pytest.approx(f.L, rel=tol)


def test_littles_law_holds_on_a_non_markovian_queue() -> None:
    """L (time average) = lambda W (customer average) for any queue: here deterministic service and
    uniform inter-arrival times, where the M/M/1 formula does NOT apply (negative control)."""
    rng = np.random.default_rng(1)
    n = 200_000
    trace = simulate_single_server(rng.uniform(0.0, 0.25, n), np.full(n, 0.1))
    m = measure(trace)
    assert m["L"] == pytest.approx(m["arrival_rate"] * m["W"], rel=2e-3)
    assert m["Lq"] == pytest.approx(m["arrival_rate"] * m["Wq"], rel=2e-3)
    rho = m["utilisation"]
    assert m["L"] != pytest.approx(rho / (1 - rho), rel=0.1)  # M/M/1 is the wrong model here


@settings(max_examples=40, deadline=None)
@given(
    ia=st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=1, max_size=60),
    data=st.data(),
)
def test_vectorized_lindley_equals_the_loop(ia: list[float], data: st.DataObject) -> None:
    s = data.draw(st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=len(ia), max_size=len(ia)))
    trace = simulate_single_server(np.array(ia), np.array(s))
    a = np.cumsum(ia)
    d_prev = -np.inf
    for i in range(len(ia)):
        start = max(a[i], d_prev)
        d_prev = start + s[i]
        assert trace.departures[i] == pytest.approx(d_prev, rel=1e-12, abs=1e-9)
        assert trace.starts[i] == pytest.approx(start, rel=1e-12, abs=1e-9)
    assert (trace.wait >= -1e-9).all()


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="arrival_rate=.* must be below service_rate"):
        mm1(10, 10)
    with pytest.raises(ValueError, match="service_rate must be a finite number > 0"):
        mm1(1, -1)
    with pytest.raises(ValueError, match="exactly two"):
        littles_law(L=1)
    with pytest.raises(ValueError, match="exactly two"):
        littles_law(L=1, arrival_rate=2, W=3)
    with pytest.raises(ValueError, match="n_customers"):
        simulate_mm1(1, 2, 0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        simulate_mm1(1, 2, 10, rng=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0"):
        simulate_single_server(np.array([1.0, -1.0]), np.array([1.0, 1.0]))
