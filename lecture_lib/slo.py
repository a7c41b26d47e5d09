"""SLOs, error budgets, burn rates and the SRE Workbook's multiwindow, multi-burn-rate alerts.

Taught in notebook Part C (``notebooks/partC_production_python.ipynb``): Zone 1 (the SLO target and error
rate sliders call :func:`alert_table`), Zone 3 ("Error budgets and burn rates"), Zone 5 ("The multiwindow
alert on a simulated incident").

Formulas (``T`` is the SLO period, 30 days unless said otherwise; ``e`` the error ratio)::

    error budget            = 1 - SLO                        (a ratio of requests)
    budget as time          = T * (1 - SLO)                  30 d at 99 %: 25 920 s = 7.2 h; 99.9 %: 43.2 min
    burn rate               = e / (1 - SLO)                  1 = the budget lasts exactly T
    budget spent in t       = burn * t / T                   14.4 for 1 h spends 14.4/720 = 2 % (not 5 %)
    time to exhaustion      = (1 - consumed) * T / burn
                            = ((1 - SLO) - c) * T / e        c = consumed * (1 - SLO); the window T matters
    alert threshold         = budget fraction * T / long window

The Workbook's recommended alerts pair a long window with a short one (1/12 of it) at the *same* threshold:
page at 14.4 over 1 h and 5 min (2 % of the budget), page at 6 over 6 h and 30 min (5 %), ticket at 1 over
3 days and 6 h (10 %). The long window gives precision; the short window makes the alert stop soon after the
incident ends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lecture_lib._checks import fraction, positive

__all__ = [
    "MULTIWINDOW_ALERTS",
    "BurnRateAlert",
    "DAY",
    "HOUR",
    "IncidentTrace",
    "MINUTE",
    "SLO_PERIOD",
    "alert_episodes",
    "alert_table",
    "budget_consumed",
    "burn_rate",
    "detection_time",
    "error_budget",
    "error_budget_time",
    "evaluate_alerts",
    "reset_time",
    "simulate_incident",
    "windowed_burn_rate",
    "threshold_for",
    "time_to_exhaustion",
]

#: Relative slack when comparing a burn rate with a threshold, so that a rate typed in as exactly the
#: threshold (0.0144 at 99.9 %) counts as reaching it despite float round-off (0.0144 / 0.001 = 14.3999...).
_REL_TOL = 1e-9

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
#: The SLO period used throughout (seconds): 30 days.
SLO_PERIOD = 30 * DAY


def _check_slo(slo: float) -> float:
    return fraction("slo", slo, open_low=True, open_high=True, what="a fraction", note="e.g. 0.999 for 99.9 %")


def _check_rate(error_rate: float, name: str = "error_rate") -> float:
    return fraction(name, error_rate, what="a fraction of requests")


def _check_positive(x: float, name: str) -> float:
    return positive(name, x, unit="seconds")


def error_budget(slo: float) -> float:
    """``1 - SLO``: the fraction of requests allowed to fail."""
    return 1.0 - _check_slo(slo)


def error_budget_time(slo: float, period: float = SLO_PERIOD) -> float:
    """``period * (1 - SLO)`` seconds of full outage the SLO allows (30 d at 99 % -> 25 920 s)."""
    return _check_positive(period, "period") * error_budget(slo)


def burn_rate(error_rate: float, slo: float) -> float:
    """``error_rate / (1 - SLO)``: how many times faster than 'exactly on budget' the budget is spent."""
    return _check_rate(error_rate) / error_budget(slo)


def budget_consumed(burn: float, duration: float, period: float = SLO_PERIOD) -> float:
    """Fraction of the period's budget spent by burning at ``burn`` for ``duration`` seconds: ``burn*t/T``."""
    b = float(burn)
    if not (math.isfinite(b) and b >= 0):
        raise ValueError(f"burn must be a finite number >= 0; got {burn}")
    d = float(duration)
    if not (math.isfinite(d) and d >= 0):
        raise ValueError(f"duration must be a finite number of seconds >= 0; got {duration}")
    return b * d / _check_positive(period, "period")


def time_to_exhaustion(
    slo: float, error_rate: float, *, consumed: float = 0.0, period: float = SLO_PERIOD
) -> float:
    """Seconds until the budget is gone at a constant ``error_rate``: ``(1 - consumed) * T / burn``.

    ``consumed`` is the fraction of the budget already spent (0..1). Equivalently
    ``((1 - SLO) - c) * T / error_rate`` with ``c = consumed * (1 - SLO)``; the lecture's version omits
    ``T`` and so is dimensionless. ``error_rate = 0`` gives ``inf`` (the budget never runs out).
    """
    e = _check_rate(error_rate)
    c = float(consumed)
    if not (0.0 <= c <= 1.0):
        raise ValueError(f"consumed must be the fraction of the budget already spent, in [0, 1]; got {consumed}")
    T = _check_positive(period, "period")
    if e == 0.0:
        return math.inf
    return (1.0 - c) * T / burn_rate(e, slo)


def threshold_for(budget_fraction: float, long_window: float, period: float = SLO_PERIOD) -> float:
    """Burn-rate threshold that spends ``budget_fraction`` in ``long_window``: ``fraction * T / window``.

    ``threshold_for(0.02, 1 h) == 14.4``, ``threshold_for(0.05, 6 h) == 6``, ``threshold_for(0.10, 3 d) == 1``.
    """
    f = float(budget_fraction)
    if not (0.0 < f <= 1.0):
        raise ValueError(f"budget_fraction must be in (0, 1]; got {budget_fraction}")
    return f * _check_positive(period, "period") / _check_positive(long_window, "long_window")


@dataclass(frozen=True)
class BurnRateAlert:
    """One multiwindow alert: fires when *both* windows burn at ``>= threshold``."""

    name: str
    severity: str  # "page" or "ticket"
    long_window: float  # seconds
    short_window: float  # seconds
    budget_fraction: float  # of the period's budget spent in long_window at the threshold

    @property
    def threshold(self) -> float:
        return threshold_for(self.budget_fraction, self.long_window)


#: The SRE Workbook's recommended set (chapter "Alerting on SLOs", 30-day period).
MULTIWINDOW_ALERTS: tuple[BurnRateAlert, ...] = (
    BurnRateAlert("fast burn", "page", 1 * HOUR, 5 * MINUTE, 0.02),
    BurnRateAlert("medium burn", "page", 6 * HOUR, 30 * MINUTE, 0.05),
    BurnRateAlert("slow burn", "ticket", 3 * DAY, 6 * HOUR, 0.10),
)


def detection_time(
    slo: float, error_rate: float, alert: BurnRateAlert, *, base_error_rate: float = 0.0
) -> float:
    """Seconds from the start of a step change ``base_error_rate -> error_rate`` until ``alert`` fires.

    A window of length ``W`` that has seen the new rate for ``t <= W`` seconds averages
    ``(base * (W - t) + e * t) / W``; it reaches the threshold rate ``theta * (1 - SLO)`` at
    ``t = W * (theta*(1-SLO) - base) / (e - base)``. The alert needs both windows, so it fires at the later
    of the two, which is the long window's time. ``inf`` if the new rate never reaches the threshold.
    """
    e = _check_rate(error_rate)
    b = _check_rate(base_error_rate, "base_error_rate")
    target = alert.threshold * error_budget(slo)
    if b >= target * (1 - _REL_TOL):
        return 0.0
    if e < target * (1 - _REL_TOL):
        return math.inf
    return max(min(w, w * (target - b) / (e - b)) for w in (alert.long_window, alert.short_window))


def reset_time(
    slo: float, error_rate: float, alert: BurnRateAlert, *, base_error_rate: float = 0.0,
    incident_duration: float = math.inf,
) -> float:
    """Seconds from the end of an incident (rate ``error_rate`` back to ``base_error_rate``) until ``alert``
    stops firing.

    The alert stops as soon as *either* window drops below the threshold; the short window does first.
    If the incident lasted at least the short window, that window averages
    ``(e * (W_s - t) + base * t) / W_s`` ``t`` seconds after the end, so it clears at
    ``t = W_s * (e - theta*(1-SLO)) / (e - base)``. For a shorter incident (or the long window) the same
    reasoning applies with the incident's duration capping how much error the window holds. Returns 0 if
    the alert was not firing at the end.
    """
    e = _check_rate(error_rate)
    b = _check_rate(base_error_rate, "base_error_rate")
    target = alert.threshold * error_budget(slo)
    if e <= b or b >= target:
        return 0.0 if b < target else math.inf

    def clear_after(w: float) -> float:
        d = min(float(incident_duration), w)
        # window average t seconds after the end (t <= w - d): (e*d + b*(w-d)) / w  (constant),
        # for t > w - d: (e*(w - t) + b*t) / w
        if (e * d + b * (w - d)) / w < target:
            return 0.0
        return w * (e - target) / (e - b)

    return min(clear_after(alert.long_window), clear_after(alert.short_window))


def alert_table(
    slo_target: float, error_rate: float, alerts: Sequence[BurnRateAlert] = MULTIWINDOW_ALERTS
) -> list[dict[str, object]]:
    """For a *constant* error rate, which multiwindow alerts fire and how soon (the Zone 1 widget).

    One row per alert: name, severity, threshold, windows (seconds), the current burn rate, ``fires``
    (burn >= threshold in both windows), ``detection_s`` (from :func:`detection_time`, starting from a
    clean history; ``inf`` if it never fires) and ``budget_spent_at_detection`` (``burn * t / T``, which
    equals the alert's budget fraction by construction).
    """
    slo = _check_slo(slo_target)
    burn = burn_rate(error_rate, slo)
    rows: list[dict[str, object]] = []
    for a in alerts:
        t = detection_time(slo, error_rate, a)
        rows.append({
            "alert": a.name,
            "severity": a.severity,
            "threshold": a.threshold,
            "long_window_s": a.long_window,
            "short_window_s": a.short_window,
            "burn_rate": burn,
            "fires": burn >= a.threshold * (1 - _REL_TOL),
            "detection_s": t,
            "budget_spent_at_detection": budget_consumed(burn, t) if math.isfinite(t) else 0.0,
        })
    return rows


# ----------------------------------------------------------------------------------------------------
# Simulated incident
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentTrace:
    """Per-step request and error counts; ``times[k]`` is the *end* of step ``k`` (seconds)."""

    times: np.ndarray
    requests: np.ndarray
    errors: np.ndarray
    step: float
    incident_start: float
    incident_end: float


def simulate_incident(
    *,
    slo: float,
    base_error_rate: float,
    incident_error_rate: float,
    incident_start: float,
    incident_duration: float,
    total_duration: float,
    request_rate: float = 100.0,
    step: float = MINUTE,
    rng: np.random.Generator,
    other_incidents: Sequence[tuple[float, float, float]] = (),
) -> IncidentTrace:
    """A request stream with a step-shaped incident: Poisson request counts per ``step``, binomial errors.

    The error probability is ``base_error_rate`` outside ``[incident_start, incident_start + duration)`` and
    ``incident_error_rate`` inside it (a step that straddles an edge uses the time-weighted mix).
    ``other_incidents``: further ``(start, duration, error_rate)`` steps added the same way; the trace marks
    only the first incident. ``slo`` is only validated here (it is used by :func:`evaluate_alerts`).
    """
    _check_slo(slo)
    b = _check_rate(base_error_rate, "base_error_rate")
    e = _check_rate(incident_error_rate, "incident_error_rate")
    step = _check_positive(step, "step")
    total = _check_positive(total_duration, "total_duration")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
    if float(request_rate) <= 0 or not math.isfinite(float(request_rate)):
        raise ValueError(f"request_rate must be a finite number of requests per second > 0; got {request_rate}")
    incidents = [(incident_start, incident_duration, e)]
    for extra in other_incidents:
        if len(extra) != 3:
            raise ValueError(f"other_incidents must hold (start, duration, error_rate) triples; got {extra!r}")
        incidents.append((extra[0], extra[1], _check_rate(extra[2], "other_incidents error_rate")))
    for s0, dur, _rate in incidents:
        if not (math.isfinite(float(s0)) and math.isfinite(float(dur))) or float(s0) < 0 or float(dur) < 0:
            raise ValueError(f"incident_start and incident_duration must be finite and >= 0; got {s0}, {dur}")
    n = int(round(total / step))
    if n < 1:
        raise ValueError("total_duration must be at least one step long")
    ends = step * np.arange(1, n + 1)
    starts = ends - step
    p = np.full(n, b)
    for s0, dur, rate in incidents:
        s0, dur = float(s0), float(dur)
        overlap = np.clip(np.minimum(ends, s0 + dur) - np.maximum(starts, s0), 0.0, step) / step
        p = p + (rate - b) * overlap
    s0, dur = float(incident_start), float(incident_duration)
    requests = rng.poisson(float(request_rate) * step, size=n)
    errors = rng.binomial(requests, p)
    return IncidentTrace(ends, requests, errors, step, s0, s0 + dur)


def windowed_burn_rate(trace: IncidentTrace, window: float, slo: float) -> np.ndarray:
    """Burn rate over the trailing ``window`` seconds at the end of every step: error ratio / (1 - SLO).

    The window is rounded to whole steps (at least one); near the start of the trace it covers fewer steps.
    """
    steps = max(1, int(round(float(window) / trace.step)))
    return _window_ratio(trace.requests, trace.errors, steps) / error_budget(slo)


def _window_ratio(requests: np.ndarray, errors: np.ndarray, steps: int) -> np.ndarray:
    """Error ratio over the last ``steps`` steps at every step (fewer at the start of the trace)."""
    cr = np.concatenate([[0], np.cumsum(requests)])
    ce = np.concatenate([[0], np.cumsum(errors)])
    k = np.arange(1, requests.size + 1)
    lo = np.maximum(k - steps, 0)
    req = cr[k] - cr[lo]
    err = ce[k] - ce[lo]
    return np.divide(err, req, out=np.zeros(req.shape, dtype=np.float64), where=req > 0)


def evaluate_alerts(
    trace: IncidentTrace, slo: float, alerts: Sequence[BurnRateAlert] = MULTIWINDOW_ALERTS
) -> dict[str, np.ndarray]:
    """For each alert, a boolean array: is it firing at the end of each step?

    Firing = burn rate over the long window ``>= threshold`` AND burn rate over the short window
    ``>= threshold`` (windows measured in whole steps, ratio = errors / requests in the window).
    """
    budget = error_budget(slo)
    out: dict[str, np.ndarray] = {}
    for a in alerts:
        long_steps = max(1, int(round(a.long_window / trace.step)))
        short_steps = max(1, int(round(a.short_window / trace.step)))
        burn_long = _window_ratio(trace.requests, trace.errors, long_steps) / budget
        burn_short = _window_ratio(trace.requests, trace.errors, short_steps) / budget
        # the tiny slack absorbs float round-off when a window sits exactly at the threshold
        thr = a.threshold * (1 - _REL_TOL)
        out[a.name] = (burn_long >= thr) & (burn_short >= thr)
    return out


def alert_episodes(trace: IncidentTrace, firing: np.ndarray) -> dict[str, object]:
    """Summarise one alert's firing array against the incident.

    Returns ``detection_s`` (first firing step end at or after the incident start, minus the start; ``inf``
    if never), ``reset_s`` (first non-firing step end after the incident end, minus the end, for the
    episode that covered the incident; ``nan`` if it never fired during it), ``episodes`` (list of
    ``(start, end)`` times of firing runs) and ``false_alerts`` (episodes that began before the incident
    started or after it ended).
    """
    f = np.asarray(firing, dtype=bool)
    if f.shape != trace.times.shape:
        raise ValueError("firing must have one entry per step of the trace")
    t = trace.times
    episodes: list[tuple[float, float]] = []
    k = 0
    n = f.size
    while k < n:
        if f[k]:
            j = k
            while j + 1 < n and f[j + 1]:
                j += 1
            episodes.append((float(t[k]), float(t[j] + trace.step) if j + 1 < n else math.inf))
            k = j + 1
        else:
            k += 1
    s, e = trace.incident_start, trace.incident_end
    during = [ep for ep in episodes if s <= ep[0] <= e + trace.step]
    detection = during[0][0] - s if during else math.inf
    reset = (during[-1][1] - e) if during else math.nan
    false = [ep for ep in episodes if ep[0] < s or ep[0] > e + trace.step]
    return {"detection_s": detection, "reset_s": reset, "episodes": episodes, "false_alerts": len(false)}
