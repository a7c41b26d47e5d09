"""Tests for lecture_lib.errors: Result laws, layered exceptions, fail-fast vs collect-all."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib.errors import (
    ApplicationError,
    add_context,
    DomainError,
    Err,
    InfrastructureError,
    Ok,
    UnwrapError,
    collect,
    error_chain,
    expected_steps_collect_all,
    expected_steps_fail_fast,
    reraise_as,
    simulate_validation_steps,
    try_call,
    validate_collect_all,
    validate_fail_fast,
)

# ------------------------------------------------------------------------------------------------
# Result: the monad laws
# ------------------------------------------------------------------------------------------------

values = st.integers(min_value=-10**6, max_value=10**6)
results = st.one_of(values.map(Ok), st.sampled_from(["timeout", "bad shape", ""]).map(Err))


def _step(k: int):
    """A family of fallible functions: f_k(x) fails (Err) when x is divisible by k, else Ok(x*k + 1)."""

    def f(x: int):
        return Err(f"{x} divisible by {k}") if x % k == 0 else Ok(x * k + 1)

    return f


fallible = st.integers(min_value=2, max_value=7).map(_step)


@settings(max_examples=200, deadline=None)
@given(x=values, f=fallible)
def test_left_identity(x: int, f) -> None:
    assert Ok(x).and_then(f) == f(x)


@settings(max_examples=200, deadline=None)
@given(m=results)
def test_right_identity(m) -> None:
    assert m.and_then(Ok) == m


@settings(max_examples=200, deadline=None)
@given(m=results, f=fallible, g=fallible)
def test_associativity(m, f, g) -> None:
    assert m.and_then(f).and_then(g) == m.and_then(lambda x: f(x).and_then(g))


@settings(max_examples=100, deadline=None)
@given(m=results)
def test_functor_laws_for_map(m) -> None:
    assert m.map(lambda x: x) == m
    assert m.map(lambda x: x + 1).map(lambda x: 2 * x) == m.map(lambda x: 2 * (x + 1))
    # map is and_then followed by Ok
    assert m.map(lambda x: x - 3) == m.and_then(lambda x: Ok(x - 3))


def test_negative_control_a_bind_that_swallows_errors_breaks_a_law() -> None:
    """A wrong bind that 'recovers' by calling f on the error value breaks right identity and the
    short-circuit; the law test above would fail for it."""

    def wrong_and_then(m, f):
        return f(m.value) if isinstance(m, Ok) else f(m.error)

    m = Err("boom")
    assert wrong_and_then(m, Ok) != m


def test_err_short_circuits_and_map_err() -> None:
    calls = []
    e = Err("bad").and_then(lambda x: calls.append(x) or Ok(x)).map(lambda x: calls.append(x))
    assert e == Err("bad") and calls == []
    assert Err(3).map_err(lambda x: x * 10) == Err(30)
    assert Ok(3).map_err(lambda x: x * 10) == Ok(3)
    assert Ok(3).unwrap() == 3 and Err(1).unwrap_or(7) == 7 and Err(1).unwrap_err() == 1
    with pytest.raises(UnwrapError):
        Err("x").unwrap()
    with pytest.raises(UnwrapError):
        Ok(1).unwrap_err()


def test_and_then_requires_a_result() -> None:
    with pytest.raises(TypeError, match="must return Ok"):
        Ok(1).and_then(lambda x: x + 1)


def test_try_call_and_collect() -> None:
    assert try_call(int, "12") == Ok(12)
    r = try_call(int, "x", catch=ValueError)
    assert isinstance(r, Err) and isinstance(r.error, ValueError)
    with pytest.raises(ZeroDivisionError):  # not in catch: a bug propagates
        try_call(lambda: 1 / 0, catch=ValueError)
    assert collect([Ok(1), Ok(2)]) == Ok([1, 2])
    assert collect([Ok(1), Err("a"), Err("b")]) == Err(["a", "b"])
    with pytest.raises(TypeError, match="results\\[1\\]"):
        collect([Ok(1), 2])


# ------------------------------------------------------------------------------------------------
# Layered exceptions
# ------------------------------------------------------------------------------------------------


def _read_checkpoint(path: str) -> bytes:
    try:
        raise FileNotFoundError(2, "No such file", path)
    except OSError as exc:
        raise InfrastructureError(f"cannot read {path}") from exc


def _load_model(path: str) -> None:
    with reraise_as(DomainError, "checkpoint 'teacher' is unavailable", catch=InfrastructureError,
                    note="retrain with tinylm.train or reinstall the package"):
        _read_checkpoint(path)


def _handle_request() -> None:
    with reraise_as(ApplicationError, "request failed: model not loaded", catch=DomainError):
        _load_model("/nonexistent/teacher.safetensors")


def test_layers_chain_with_raise_from() -> None:
    with pytest.raises(ApplicationError) as info:
        _handle_request()
    chain = error_chain(info.value)
    assert [t for t, _ in chain] == ["ApplicationError", "DomainError", "InfrastructureError", "FileNotFoundError"]
    assert info.value.__cause__.__notes__ == ["retrain with tinylm.train or reinstall the package"]
    assert [type(e).layer for e in (info.value, info.value.__cause__, info.value.__cause__.__cause__)] == [
        "application", "domain", "infrastructure"]


def test_reraise_as_does_not_double_wrap_or_catch_others() -> None:
    with pytest.raises(DomainError) as info:
        with reraise_as(DomainError, "outer"):
            raise DomainError("inner")
    assert str(info.value) == "inner" and info.value.__cause__ is None
    with pytest.raises(KeyError):
        with reraise_as(DomainError, "x", catch=OSError):
            raise KeyError("not an OSError")
    with pytest.raises(TypeError, match="Exception subclass"):
        with reraise_as(int, "x"):  # type: ignore[arg-type]
            pass


def test_error_chain_respects_from_none() -> None:
    try:
        try:
            raise KeyError("k")
        except KeyError:
            raise ValueError("clean") from None
    except ValueError as exc:
        assert error_chain(exc) == [("ValueError", "clean")]
    try:
        try:
            raise KeyError("k")
        except KeyError:
            raise ValueError("implicit")  # noqa: B904 - implicit context on purpose
    except ValueError as exc:
        assert [t for t, _ in error_chain(exc)] == ["ValueError", "KeyError"]


# ------------------------------------------------------------------------------------------------
# Fail-fast vs collect-all
# ------------------------------------------------------------------------------------------------


def _positive(x: float) -> None:
    if not x > 0:
        raise ValueError(f"x must be > 0; got {x}")


def _small(x: float) -> None:
    if not x < 10:
        raise ValueError(f"x must be < 10; got {x}")


def _integer(x: float) -> None:
    if x != int(x):
        raise ValueError(f"x must be an integer; got {x}")


def test_fail_fast_reports_the_first_problem_only() -> None:
    with pytest.raises(ValueError, match="must be > 0") as info:
        validate_fail_fast(-0.5, [_positive, _small, _integer])
    assert "check 1 of 3" in info.value.__notes__[0]
    assert validate_fail_fast(3, [_positive, _small, _integer]) == 3


def test_collect_all_reports_every_problem() -> None:
    with pytest.raises(ExceptionGroup) as info:
        validate_collect_all(-0.5, [_positive, _small, _integer])
    msgs = [str(e) for e in info.value.exceptions]
    assert msgs == ["x must be > 0; got -0.5", "x must be an integer; got -0.5"]
    try:
        validate_collect_all(12.5, [_positive, _small, _integer])
    except* ValueError as group:  # the 3.11 syntax learners will use
        assert len(group.exceptions) == 2


def test_expected_steps_formula_two_forms_agree() -> None:
    p = [0.1, 0.3, 0.05, 0.2]
    lecture_form = sum((i + 1) * p[i] * math.prod(1 - q for q in p[:i]) for i in range(len(p))) + len(p) * math.prod(
        1 - q for q in p)
    assert expected_steps_fail_fast(p) == pytest.approx(lecture_form)
    assert expected_steps_fail_fast([0.0] * 5) == 5.0
    assert expected_steps_fail_fast([1.0, 0.5]) == 1.0
    assert expected_steps_collect_all(p) == 4.0


@settings(max_examples=100, deadline=None)
@given(p=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=12))
def test_fail_fast_never_costs_more(p: list[float]) -> None:
    e = expected_steps_fail_fast(p)
    assert 1.0 - 1e-12 <= e <= len(p) + 1e-12
    if all(q > 1e-9 for q in p[:-1]) and len(p) > 1:
        assert e < len(p)


def test_simulated_steps_match_the_formula() -> None:
    p = [0.1, 0.3, 0.05, 0.2, 0.15]
    n = 20_000
    ff, ca = simulate_validation_steps(p, n, rng=np.random.default_rng(0))
    expected = expected_steps_fail_fast(p)
    # standard error of a mean of step counts in 1..5: sd <= 2, so SE <= 2/sqrt(n) = 0.014
    assert abs(ff - expected) < 0.06
    assert ca == 5.0
    # negative control: treating the checks as if each ran with probability (1 - p_i) independently
    wrong = sum(1 - q for q in p)
    assert abs(ff - wrong) > 0.06


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="at least one check"):
        validate_fail_fast(1, [])
    with pytest.raises(TypeError, match="validators\\[1\\] must be callable"):
        validate_collect_all(1, [_positive, 3])
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        expected_steps_fail_fast([0.5, 1.5])
    with pytest.raises(ValueError, match="non-empty"):
        expected_steps_fail_fast([])
    with pytest.raises(TypeError, match="rng"):
        simulate_validation_steps([0.1], 10, rng=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_trials"):
        simulate_validation_steps([0.1], 0, rng=np.random.default_rng(0))


def test_add_context_keeps_the_type_and_stacks_notes_innermost_first() -> None:
    with pytest.raises(KeyError) as info:
        with add_context("serving request 42"):
            with add_context("loading checkpoint 'teacher'"):
                {}["weights"]
    assert info.value.__notes__ == ["loading checkpoint 'teacher'", "serving request 42"]
    # negative control: without an exception nothing is attached and nothing is raised
    with add_context("quiet"):
        pass
    with pytest.raises(TypeError, match="message"):
        with add_context(""):
            pass
