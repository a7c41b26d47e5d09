"""Errors as values and errors as exceptions: a ``Result`` type, layered exceptions, validation strategies.

Taught in notebook Part C (``notebooks/partC_production_python.ipynb``): Zone 3 ("Result is a monad",
"fail-fast vs collect-all", the expected-steps formula checked by simulation) and Zone 4 (this code).

Result
------
``Ok(value)`` or ``Err(error)``. ``and_then`` (bind, Rust's ``?``) runs the next step only on ``Ok``;
an ``Err`` passes through untouched. With ``unit = Ok`` the three monad laws hold::

    left identity   Ok(x).and_then(f)              == f(x)
    right identity  m.and_then(Ok)                 == m
    associativity   m.and_then(f).and_then(g)      == m.and_then(lambda x: f(x).and_then(g))

Associativity is why a chain of fallible steps can be regrouped (refactored into helpers) without
changing which error comes out. ``map`` is ``and_then`` followed by ``Ok``; ``map_err`` maps the error
side (Rust's ``From`` conversion that ``?`` applies).

Layered exceptions
------------------
Python's idiom for the lecture's three error layers is an exception hierarchy plus *chaining*:
``raise DomainError("...") from low_level_error`` keeps the original as ``__cause__`` (shown as "The
above exception was the direct cause of ...") and ``add_note`` attaches context without changing the type.
:func:`reraise_as` packages that pattern; :func:`error_chain` reads the chain back.

Fail-fast vs collect-all
------------------------
With ``n`` independent checks that fail with probabilities ``p_1 .. p_n``, fail-fast stops at the first
failure. Check ``i`` runs only if checks ``1 .. i-1`` passed, so::

    E[steps, fail-fast] = sum_{i=1..n} prod_{j<i} (1 - p_j)
                        = sum_i i * p_i * prod_{j<i}(1 - p_j)  +  n * prod_j (1 - p_j)   (the lecture's form)
    E[steps, collect-all] = n

Collect-all (``ExceptionGroup``) costs all ``n`` checks but reports every problem in one round trip.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar, Union

import numpy as np

__all__ = [
    "ApplicationError",
    "add_context",
    "DomainError",
    "Err",
    "InfrastructureError",
    "Ok",
    "Result",
    "collect",
    "error_chain",
    "expected_steps_collect_all",
    "expected_steps_fail_fast",
    "reraise_as",
    "simulate_validation_steps",
    "try_call",
    "validate_collect_all",
    "validate_fail_fast",
]

T = TypeVar("T")
U = TypeVar("U")
E = TypeVar("E")
F = TypeVar("F")


# ----------------------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------------------


class UnwrapError(Exception):
    """Raised by ``unwrap`` on an ``Err`` or ``unwrap_err`` on an ``Ok``."""


def _check_result(value: Any, who: str) -> Result[Any, Any]:
    if not isinstance(value, (Ok, Err)):
        raise TypeError(f"{who} must return Ok(...) or Err(...); got {type(value).__name__} {value!r}")
    return value


@dataclass(frozen=True)
class Ok(Generic[T]):
    """The success case of a :data:`Result`."""

    value: T

    def is_ok(self) -> bool:
        return True

    def is_err(self) -> bool:
        return False

    def map(self, f: Callable[[T], U]) -> Ok[U]:
        """``Ok(f(value))``."""
        return Ok(f(self.value))

    def map_err(self, f: Callable[[Any], Any]) -> Ok[T]:
        """Unchanged: there is no error to map."""
        return self

    def and_then(self, f: Callable[[T], Result[U, Any]]) -> Result[U, Any]:
        """Bind: ``f(value)``, which must itself return a Result."""
        return _check_result(f(self.value), "the function passed to and_then")

    def unwrap(self) -> T:
        return self.value

    def unwrap_or(self, default: Any) -> T:
        return self.value

    def unwrap_err(self) -> NoReturn:
        raise UnwrapError(f"unwrap_err() called on Ok({self.value!r})")


@dataclass(frozen=True)
class Err(Generic[E]):
    """The failure case of a :data:`Result`; every combinator except ``map_err`` passes it through."""

    error: E

    def is_ok(self) -> bool:
        return False

    def is_err(self) -> bool:
        return True

    def map(self, f: Callable[[Any], Any]) -> Err[E]:
        return self

    def map_err(self, f: Callable[[E], F]) -> Err[F]:
        """``Err(f(error))`` (like Rust's ``map_err`` / the ``From`` conversion of ``?``)."""
        return Err(f(self.error))

    def and_then(self, f: Callable[[Any], Any]) -> Err[E]:
        """Short-circuit: ``f`` is not called."""
        return self

    def unwrap(self) -> NoReturn:
        if isinstance(self.error, BaseException):
            raise UnwrapError(f"unwrap() called on Err({self.error!r})") from self.error
        raise UnwrapError(f"unwrap() called on Err({self.error!r})")

    def unwrap_or(self, default: U) -> U:
        return default

    def unwrap_err(self) -> E:
        return self.error


Result = Union[Ok[T], Err[E]]


def try_call(
    f: Callable[..., T], *args: Any, catch: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    **kwargs: Any,
) -> Result[T, BaseException]:
    """Run ``f(*args, **kwargs)``: ``Ok(return value)``, or ``Err(exception)`` if it raised one of ``catch``.

    Only the listed exception types become values; anything else (a bug, ``KeyboardInterrupt``) still
    propagates, which is the point of catching narrowly.
    """
    try:
        return Ok(f(*args, **kwargs))
    except catch as exc:
        return Err(exc)


def collect(results: Iterable[Result[T, E]]) -> Result[list[T], list[E]]:
    """``Ok([values])`` if every result is Ok, else ``Err([all errors])`` (collect-all for Results)."""
    values: list[T] = []
    errors: list[E] = []
    for i, r in enumerate(results):
        _check_result(r, f"results[{i}]")
        if isinstance(r, Ok):
            values.append(r.value)
        else:
            errors.append(r.error)
    return Err(errors) if errors else Ok(values)


# ----------------------------------------------------------------------------------------------------
# Layered exceptions
# ----------------------------------------------------------------------------------------------------


class InfrastructureError(Exception):
    """Lowest layer: the outside world failed (disk, network, a missing file, a timeout)."""

    layer = "infrastructure"


class DomainError(Exception):
    """Middle layer: the operation is impossible in the problem's own terms (a bad checkpoint, a shape
    mismatch, an unsupported bit width). Usually *caused by* an infrastructure error or bad input."""

    layer = "domain"


class ApplicationError(Exception):
    """Top layer: what the caller of the service sees (a request failed), with the chain below it."""

    layer = "application"


@contextlib.contextmanager
def reraise_as(
    to: type[Exception],
    message: str,
    *,
    catch: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    note: str | None = None,
) -> Iterator[None]:
    """Translate exceptions at a layer boundary: ``raise to(message) from original``.

    Usage::

        with reraise_as(DomainError, "cannot load checkpoint 'teacher'", catch=InfrastructureError):
            read_bytes(path)

    ``note`` (optional) is attached with ``add_note`` to the *new* exception. Exceptions that are already
    of type ``to`` pass through unchanged (no double wrapping).
    """
    if not (isinstance(to, type) and issubclass(to, Exception)):
        raise TypeError(f"to must be an Exception subclass; got {to!r}")
    try:
        yield
    except to:
        raise
    except catch as exc:
        new = to(message)
        if note is not None:
            new.add_note(note)
        raise new from exc


@contextlib.contextmanager
def add_context(message: str) -> Iterator[None]:
    """Attach ``message`` as a note to any exception that leaves the block, and re-raise it unchanged.

    The application-side idiom (Rust's ``anyhow::Context``): the type stays what the library raised, and each
    layer the error crosses adds one line saying what it was doing. The notes print under the traceback and
    are in ``exc.__notes__``, innermost first.
    """
    if not isinstance(message, str) or not message:
        raise TypeError(f"message must be a non-empty str; got {message!r}")
    try:
        yield
    except Exception as exc:
        exc.add_note(message)
        raise


def error_chain(exc: BaseException) -> list[tuple[str, str]]:
    """``[(type name, message), ...]`` from ``exc`` down its ``__cause__`` / ``__context__`` chain.

    Follows ``__cause__`` (``raise ... from``) first, else ``__context__`` unless suppressed
    (``from None``). Stops on cycles.
    """
    if not isinstance(exc, BaseException):
        raise TypeError(f"exc must be an exception; got {type(exc).__name__}")
    out: list[tuple[str, str]] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        out.append((type(cur).__name__, str(cur)))
        if cur.__cause__ is not None:
            cur = cur.__cause__
        elif not cur.__suppress_context__:
            cur = cur.__context__
        else:
            cur = None
    return out


# ----------------------------------------------------------------------------------------------------
# Validation: fail-fast vs collect-all
# ----------------------------------------------------------------------------------------------------

Validator = Callable[[Any], None]


def _check_validators(validators: Sequence[Validator]) -> None:
    if not validators:
        raise ValueError("validators must contain at least one check")
    for i, v in enumerate(validators):
        if not callable(v):
            raise TypeError(f"validators[{i}] must be callable (raise ValueError on bad input); got {v!r}")


def validate_fail_fast(value: Any, validators: Sequence[Validator]) -> int:
    """Run the checks in order and re-raise the first ``ValueError``; returns the number of checks run.

    Each validator is a callable that raises ``ValueError`` when ``value`` is bad. The exception carries a
    note saying which check (by index) failed.
    """
    _check_validators(validators)
    for i, check in enumerate(validators):
        try:
            check(value)
        except ValueError as exc:
            exc.add_note(f"fail-fast: check {i + 1} of {len(validators)} failed; later checks were skipped")
            raise
    return len(validators)


def validate_collect_all(value: Any, validators: Sequence[Validator]) -> int:
    """Run every check; if any raised ``ValueError``, raise one ``ExceptionGroup`` holding all of them.

    Returns the number of checks run (always ``len(validators)``) when everything passed. Catch the group
    with ``except* ValueError`` (Python 3.11+) or ``except ExceptionGroup``.
    """
    _check_validators(validators)
    problems: list[ValueError] = []
    for check in validators:
        try:
            check(value)
        except ValueError as exc:
            problems.append(exc)
    if problems:
        raise ExceptionGroup(f"{len(problems)} of {len(validators)} checks failed", problems)
    return len(validators)


def _check_probs(p_fail: Sequence[float]) -> np.ndarray:
    p = np.asarray(p_fail, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("p_fail must be a non-empty 1-D sequence of failure probabilities")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"p_fail must hold probabilities in [0, 1]; got {p.tolist()}")
    return p


def expected_steps_fail_fast(p_fail: Sequence[float]) -> float:
    """``E[steps] = sum_{i=1..n} prod_{j<i} (1 - p_j)`` for independent checks failing with ``p_fail``."""
    p = _check_probs(p_fail)
    survive_before = np.concatenate([[1.0], np.cumprod(1.0 - p)[:-1]])
    return float(survive_before.sum())


def expected_steps_collect_all(p_fail: Sequence[float]) -> float:
    """Collect-all always runs every check: ``n``."""
    return float(_check_probs(p_fail).size)


def simulate_validation_steps(
    p_fail: Sequence[float], n_trials: int, *, rng: np.random.Generator
) -> tuple[float, float]:
    """Mean number of checks actually *run* by :func:`validate_fail_fast` and :func:`validate_collect_all`.

    Each trial builds ``n`` real validators; check ``i`` raises ``ValueError`` with probability
    ``p_fail[i]`` (the coin flips come from ``rng``). The validators count their own calls, so the result
    measures the functions above, not a formula. Compare with :func:`expected_steps_fail_fast`.
    """
    p = _check_probs(p_fail)
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be an integer >= 1; got {n_trials!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    fails = rng.random((int(n_trials), p.size)) < p
    calls = [0]

    def make(flag: bool) -> Validator:
        def check(_value: Any) -> None:
            calls[0] += 1
            if flag:
                raise ValueError("synthetic check failed")

        return check

    totals = [0, 0]
    for row in fails.tolist():
        validators = [make(f) for f in row]
        for k, run in enumerate((validate_fail_fast, validate_collect_all)):
            calls[0] = 0
            try:
                run(None, validators)
            except (ValueError, ExceptionGroup):
                pass
            totals[k] += calls[0]
    return totals[0] / n_trials, totals[1] / n_trials
