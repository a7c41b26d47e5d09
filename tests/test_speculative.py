"""Tests for lecture_lib.speculative.

* Exactness of ``verify`` shown statistically: >= 1e5 verify steps per case, the emitted tokens'
  distribution vs the target's p by chi-square and total variation, for several (p, q, k) including the
  edge cases; two deliberately wrong verifiers (replacement drawn from q, or from p, instead of the
  residual) must FAIL the same test.
* Edge cases, hypothesis properties (1..k+1 tokens, ids in the vocabulary, accepted prefix), bad inputs.
* The acceptance formulas against simulation and the lecture's (corrected) numbers.
* ``speculative_decode`` on small exact toy LMs (greedy equivalence with plain greedy decoding, including
  context-window slides; the joint distribution of sampled tokens at temperature > 0, with a negative
  control) and on the tiny LM (greedy equivalence with ``tinylm.generate``, student-as-draft acceptance,
  the INT4 self-speculative draft).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import lecture_lib.speculative as spec
from lecture_lib.speculative import (
    acceptance_probability,
    expected_accepted_tokens,
    expected_speedup,
    expected_tokens_per_step,
    residual_distribution,
    simulate_tokens_per_step,
    speculative_decode,
    verify,
    verify_batch,
    verify_greedy,
)

SETTINGS = settings(max_examples=60, deadline=None)
N_DRAWS = 120_000  # verify steps per statistical case
P_PASS = 1e-3  # a correct verifier must not be rejected at this level (fixed seeds: deterministic)
P_FAIL = 1e-6  # a wrong verifier must be rejected at this level


def _rows(*rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def _dirichlet(rng: np.random.Generator, n: int, V: int, conc: float = 0.7) -> torch.Tensor:
    return torch.from_numpy(rng.dirichlet(np.full(V, conc), size=n))


# ------------------------------------------------------------------------------- statistical harness
def _run(verify_fn, q: torch.Tensor, p: torch.Tensor, n: int, seed: int):
    """n independent verify steps with draft tokens drawn from q's rows; returns (n_acc, emitted [n, k+1]
    padded with -1)."""
    g = torch.Generator().manual_seed(seed)
    k = q.shape[0]
    if k:
        tokens = torch.stack([torch.multinomial(q[i], n, replacement=True, generator=g) for i in range(k)], 1)
    else:
        tokens = torch.zeros((n, 0), dtype=torch.long)
    n_acc, nxt = verify_fn(tokens, q, p, generator=g)
    emitted = torch.full((n, k + 1), -1, dtype=torch.long)
    pos = torch.arange(k + 1).expand(n, k + 1)
    emitted[:, :k] = torch.where(pos[:, :k] < n_acc[:, None], tokens, -1)
    emitted[torch.arange(n), n_acc] = nxt
    return n_acc, emitted


def _chi2_tv(samples: torch.Tensor, p: torch.Tensor) -> tuple[float, float]:
    """Chi-square p-value and total-variation distance of samples vs the distribution p. A sample in a cell
    with p = 0 is an impossible event: p-value 0."""
    V = p.numel()
    counts = torch.bincount(samples, minlength=V).double()
    n = float(counts.sum())
    tv = 0.5 * float((counts / n - p).abs().sum())
    support = p > 0
    if bool((counts[~support] > 0).any()):
        return 0.0, tv
    if int(support.sum()) == 1:
        return 1.0, tv
    f_exp = p[support] * n
    f_obs = counts[support]
    f_exp = f_exp * (f_obs.sum() / f_exp.sum())
    return float(stats.chisquare(f_obs.numpy(), f_exp.numpy()).pvalue), tv


def _position_tests(verify_fn, q, p, seed=0, n=N_DRAWS):
    """For every position j with at least 2000 emissions: (j, p-value, TV, count) of the j-th emitted token vs p_j.
    Rows are context-free here, so the j-th emitted token, when there is one, is distributed as p_j."""
    n_acc, emitted = _run(verify_fn, q, p, n, seed)
    out = []
    for j in range(q.shape[0] + 1):
        col = emitted[:, j]
        col = col[col >= 0]
        if col.numel() >= 2000:
            out.append((j, *_chi2_tv(col, p[j]), col.numel()))
    return n_acc, out


def _wrong_verifier(replacement: str):
    """Negative controls: the right acceptance test, but at a rejection the replacement is drawn from q
    ("q": re-drafting) or from p ("p": the target without the residual correction)."""

    def fn(tokens, q, p, *, generator=None):
        n, k = tokens.shape
        q = q.unsqueeze(0).expand(n, *q.shape)
        p = p.unsqueeze(0).expand(n, *p.shape)
        idx = tokens.unsqueeze(-1)
        q_x = q.gather(-1, idx).squeeze(-1)
        p_x = p[:, :k].gather(-1, idx).squeeze(-1)
        u = torch.rand((n, k), generator=generator, dtype=torch.float64)
        n_acc = ((q_x > 0) & (u * q_x < p_x)).long().cumprod(1).sum(1)
        rows = torch.arange(n)
        p_row = p[rows, n_acc]
        dist = p_row.clone()
        early = n_acc < k
        if replacement == "q":
            dist[early] = q[rows[early], n_acc[early]]
        return n_acc, torch.multinomial(dist, 1, generator=generator).squeeze(-1)

    return fn


_rng = np.random.default_rng(2024)
CASES = {
    # name: (q [k, V], p [k+1, V])
    "k1_lecture_like": (_rows([0.2, 0.2, 0.6]), _rows([0.5, 0.3, 0.2], [0.1, 0.6, 0.3])),
    "k4_random_V6": (_dirichlet(_rng, 4, 6), _dirichlet(_rng, 5, 6)),
    "k3_draft_misses_tokens": (
        _rows([0.0, 0.3, 0.3, 0.4, 0.0], [0.5, 0.0, 0.5, 0.0, 0.0], [0.2, 0.2, 0.2, 0.2, 0.2]),
        _rows([0.6, 0.4, 0.0, 0.0, 0.0], [0.1, 0.1, 0.1, 0.1, 0.6], [0.0, 0.0, 0.0, 0.5, 0.5], [0.3, 0.3, 0.2, 0.1, 0.1]),
    ),
    "k2_p_equals_q": (_rows([0.5, 0.25, 0.25], [0.1, 0.1, 0.8]), _rows([0.5, 0.25, 0.25], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4])),
    "k1_disjoint_supports": (_rows([0.0, 0.0, 0.5, 0.5]), _rows([0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25])),
    "k2_one_hot_target": (_rows([1 / 3, 1 / 3, 1 / 3], [0.9, 0.05, 0.05]), _rows([0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0])),
    "k0_no_draft": (torch.zeros((0, 4), dtype=torch.float64), _rows([0.1, 0.2, 0.3, 0.4])),
}


@pytest.mark.parametrize("name", list(CASES))
def test_verify_output_is_exactly_the_target_distribution(name):
    q, p = CASES[name]
    n_acc, results = _position_tests(verify_batch, q, p, seed=11)
    assert results and results[0][0] == 0
    for j, pval, tv, count in results:
        assert pval > P_PASS, f"{name}: position {j} chi-square p = {pval:.2e}"
        # sampling noise of the empirical TV is about sqrt(V / (2 pi n)); allow ~5x that
        assert tv < 2 * math.sqrt(p.shape[1] / count), f"{name}: position {j} TV = {tv:.4f} from {count} draws"
    if q.shape[0]:
        # acceptance of the first draft token = sum min(p0, q0) = 1 - TV(p0, q0)
        a = float(acceptance_probability(p[0], q[0]))
        rate = float((n_acc > 0).double().mean())
        assert abs(rate - a) < 5 * math.sqrt(max(a * (1 - a), 1e-12) / N_DRAWS) + 1e-12


@pytest.mark.parametrize("name", ["k1_lecture_like", "k4_random_V6", "k3_draft_misses_tokens"])
@pytest.mark.parametrize("replacement", ["q", "p"])
def test_negative_control_wrong_replacement_fails_the_same_test(name, replacement):
    q, p = CASES[name]
    _, results = _position_tests(_wrong_verifier(replacement), q, p, seed=11)
    assert min(r[1] for r in results) < P_FAIL
    # and the harness with the correct verifier on the same draws passes (same seed, same draft tokens)
    _, good = _position_tests(verify_batch, q, p, seed=11)
    assert min(r[1] for r in good) > P_PASS


def test_verify_and_verify_batch_agree_draw_for_draw():
    q, p = CASES["k4_random_V6"]
    g0 = torch.Generator().manual_seed(0)
    for trial in range(200):
        tokens = [int(torch.multinomial(q[i], 1, generator=g0)) for i in range(4)]
        a = verify(tokens, q, p, generator=torch.Generator().manual_seed(trial))
        n_acc, nxt = verify_batch(torch.tensor([tokens]), q, p, generator=torch.Generator().manual_seed(trial))
        assert a == tokens[: int(n_acc[0])] + [int(nxt[0])]


@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_verify_step_and_verify_rows_agree_on_every_kind_of_step(k):
    """verify() (one step, Python bookkeeping) and verify_batch (vectorized) make the same draws: rejections,
    all accepted (bonus row), a token the draft gives probability 0, and a draft row equal to the target's."""
    V = 7
    g0 = torch.Generator().manual_seed(k)
    for trial in range(150):
        p = torch.softmax(3 * torch.randn(k + 1, V, generator=g0, dtype=torch.float64), -1)
        q = torch.softmax(3 * torch.randn(k, V, generator=g0, dtype=torch.float64), -1)
        if k and trial % 3 == 0:
            q[0] = p[0]
        tokens = [int(torch.multinomial(q[i], 1, generator=g0)) for i in range(k)]
        if k and trial % 5 == 0:
            q[-1, tokens[-1]] = 0.0
            q[-1] /= q[-1].sum()
        a = verify(tokens, q, p, generator=torch.Generator().manual_seed(trial))
        n_acc, nxt = verify_batch(torch.tensor([tokens], dtype=torch.long).reshape(1, k), q, p,
                                  generator=torch.Generator().manual_seed(trial))
        assert a == tokens[: int(n_acc[0])] + [int(nxt[0])]


def test_seeded_determinism():
    q, p = CASES["k4_random_V6"]
    tokens = [0, 1, 2, 3]
    runs = [[verify(tokens, q, p, generator=torch.Generator().manual_seed(s)) for s in range(50)] for _ in range(2)]
    assert runs[0] == runs[1]
    assert len({tuple(r) for r in runs[0]}) > 1  # the seed matters


def test_acceptance_is_one_minus_tv_errata_row_66():
    p = _rows([0.5, 0.3, 0.2])
    q = _rows([0.3, 0.3, 0.4])
    assert float(acceptance_probability(p, q)) == pytest.approx(1 - 0.5 * float((p - q).abs().sum()))
    assert float(acceptance_probability(p, q)) == pytest.approx(0.8)
    # errata row 74: the lecture's QuantSpec logits, softmax at T = 1
    pt = torch.softmax(torch.tensor([3.2, 1.1, 0.5], dtype=torch.float64), -1)
    pq = torch.softmax(torch.tensor([3.1, 1.0, 0.6], dtype=torch.float64), -1)
    assert float(acceptance_probability(pt, pq)) == pytest.approx(0.988, abs=5e-4)
    assert min(1.0, float(pt[0] / pq[0])) == 1.0


# ------------------------------------------------------------------------------------------ edge cases
def test_p_equals_q_accepts_everything():
    q, p = CASES["k2_p_equals_q"]
    for s in range(100):
        out = verify([0, 2], q, p[:3], generator=torch.Generator().manual_seed(s))
        assert out[:2] == [0, 2] and len(out) == 3


def test_token_with_zero_draft_probability_is_rejected():
    # q(x) = 0 but p(x) = 1: min(1, p/q) would be "infinite"; the rule rejects and draws from the residual
    q = _rows([0.0, 1.0, 0.0])
    p = _rows([1.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    for s in range(50):
        assert verify([0], q, p, generator=torch.Generator().manual_seed(s)) == [0]  # corrected, not accepted+bonus


def test_all_zero_residual_falls_back_to_p():
    # p == q and the draft token has q(x) = 0 = p(x): rejected, residual is all zero -> a draw from p
    q = _rows([0.0, 0.5, 0.5])
    p = _rows([0.0, 0.5, 0.5], [1.0, 0.0, 0.0])
    seen = {verify([0], q, p, generator=torch.Generator().manual_seed(s))[0] for s in range(100)}
    assert seen == {1, 2}
    r = residual_distribution(p[0], q[0])
    assert torch.equal(r, p[0])


def test_rejection_when_target_gives_zero():
    q = _rows([0.5, 0.5])
    p = _rows([0.0, 1.0], [0.5, 0.5])
    for s in range(30):
        assert verify([0], q, p, generator=torch.Generator().manual_seed(s)) == [1]


def test_residual_distribution_formula():
    p, q = _rows([0.5, 0.3, 0.2]), _rows([0.2, 0.2, 0.6])
    assert torch.allclose(residual_distribution(p, q), _rows([0.75, 0.25, 0.0]))


# ----------------------------------------------------------------------------------------- properties
@st.composite
def verify_inputs(draw):
    V = draw(st.integers(1, 8))
    k = draw(st.integers(0, 6))

    def row():
        w = draw(st.lists(st.sampled_from([0.0, 0.0, 0.01, 0.1, 0.5, 1.0, 3.0]), min_size=V, max_size=V))
        if sum(w) == 0:
            w[draw(st.integers(0, V - 1))] = 1.0
        w = np.array(w)
        return w / w.sum()

    q = torch.tensor(np.array([row() for _ in range(k)]).reshape(k, V))
    if draw(st.booleans()):
        p = torch.cat([q, torch.tensor(row())[None]])  # p == q on the first k rows
    else:
        p = torch.tensor(np.array([row() for _ in range(k + 1)]))
    tokens = draw(st.lists(st.integers(0, V - 1), min_size=k, max_size=k))  # may have q(x) = 0
    return tokens, q, p, draw(st.integers(0, 2**31 - 1))


@SETTINGS
@given(verify_inputs())
def test_verify_properties(case):
    tokens, q, p, seed = case
    k, V = len(tokens), p.shape[1]
    out = verify(tokens, q, p, generator=torch.Generator().manual_seed(seed))
    m = len(out) - 1
    assert 1 <= len(out) <= k + 1
    assert out[:m] == tokens[:m]  # an accepted prefix of the draft
    assert all(0 <= t < V for t in out)
    assert float(p[m, out[-1]]) > 0  # the last token is one the target can produce
    for i in range(m):  # accepted tokens: the draft could produce them and the target can too
        assert float(q[i, tokens[i]]) > 0 and float(p[i, tokens[i]]) > 0
    if all(float(q[i, t]) > 0 and torch.equal(q[i], p[i]) for i, t in enumerate(tokens)):
        assert m == k


@SETTINGS
@given(st.integers(0, 6), st.integers(2, 7), st.integers(0, 2**31 - 1))
def test_verify_greedy_properties(k, V, seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(k + 1, V, generator=g)
    best = scores.argmax(-1).tolist()
    tokens = [b if torch.rand((), generator=g) < 0.7 else int(torch.randint(0, V, (), generator=g)) for b in best[:k]]
    out = verify_greedy(tokens, scores)
    m = len(out) - 1
    assert out[:m] == tokens[:m] == best[:m]
    assert out[-1] == best[m]
    assert m == k or tokens[m] != best[m]


def test_verify_greedy_examples():
    s = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    assert verify_greedy([1, 0], s) == [1, 0, 2]  # all accepted + bonus
    assert verify_greedy([1, 2], s) == [1, 0]  # second corrected
    assert verify_greedy([0, 0], s) == [1]
    assert verify_greedy([], s[:1]) == [1]
    assert verify_greedy([0], torch.tensor([[1.0, 1.0], [0.0, 1.0]])) == [0, 1]  # ties: lowest id


# ----------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    "args,exc,match",
    [
        (([0], _rows([0.5, 0.6]), _rows([0.5, 0.5], [0.5, 0.5])), ValueError, "draft_probs"),
        (([0], _rows([0.5, 0.5]), _rows([0.5, 0.5], [1.5, -0.5])), ValueError, "target_probs"),
        (([0], _rows([float("nan"), 0.5]), _rows([0.5, 0.5], [0.5, 0.5])), ValueError, "draft_probs"),
        (([0], _rows([0.5, 0.5]), _rows([0.5, 0.5])), ValueError, "target_probs"),
        (([0, 1], _rows([0.5, 0.5]), _rows([0.5, 0.5], [0.5, 0.5])), ValueError, "draft_probs"),
        (([2], _rows([0.5, 0.5]), _rows([0.5, 0.5], [0.5, 0.5])), ValueError, "draft_tokens"),
        (([-1], _rows([0.5, 0.5]), _rows([0.5, 0.5], [0.5, 0.5])), ValueError, "draft_tokens"),
        (([0.0], _rows([0.5, 0.5]), _rows([0.5, 0.5], [0.5, 0.5])), TypeError, "draft_tokens"),
        (([0], _rows([1.0]), _rows([0.5, 0.5], [0.5, 0.5])), ValueError, "vocabulary"),
        (([0], torch.tensor([[1, 0]]), _rows([0.5, 0.5], [0.5, 0.5])), TypeError, "draft_probs"),
        (([0], "q", _rows([0.5, 0.5], [0.5, 0.5])), TypeError, "draft_probs"),
    ],
)
def test_verify_bad_inputs(args, exc, match):
    with pytest.raises(exc, match=match):
        verify(*args)


def test_verify_bad_generator_and_batch_shapes():
    with pytest.raises(TypeError, match="generator"):
        verify([0], _rows([0.5, 0.5]), _rows([0.5, 0.5], [0.5, 0.5]), generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="draft_tokens"):
        verify_batch(torch.tensor([0, 1]), _rows([0.5, 0.5]), _rows([0.5, 0.5], [0.5, 0.5]))
    with pytest.raises(ValueError, match="target_probs"):
        verify_batch(torch.tensor([[0]]), _rows([0.5, 0.5]), _rows([0.5, 0.5]))
    with pytest.raises(ValueError, match="target_scores"):
        verify_greedy([0], torch.zeros(1, 3))


# --------------------------------------------------------------------------------------------- formulas
def test_expected_tokens_per_step_values():
    # errata rows 68/69: for k = 4 the tokens per iteration are 2.31 / 3.36 / 4.10, not the k -> inf values
    assert [round(expected_tokens_per_step(a, 4), 2) for a in (0.6, 0.8, 0.9)] == [2.31, 3.36, 4.10]
    assert [round(expected_accepted_tokens(a, 4), 2) for a in (0.6, 0.8, 0.9)] == [1.31, 2.36, 3.10]
    assert expected_accepted_tokens(0.9, 10_000) == pytest.approx(9.0)  # the lecture's k -> inf number
    assert expected_tokens_per_step(1.0, 4) == 5.0 and expected_tokens_per_step(0.0, 4) == 1.0
    assert expected_tokens_per_step(0.7, 0) == 1.0
    assert expected_tokens_per_step(1 - 1e-12, 7) == pytest.approx(8.0, rel=1e-9)  # continuous at alpha = 1
    assert expected_speedup(0.9, 4, 0.05) == pytest.approx(3.4126, abs=1e-4)
    assert expected_speedup(1.0, 3, 0.0) == 4.0


@SETTINGS
@given(st.floats(0, 1), st.integers(0, 40))
def test_expected_tokens_per_step_properties(alpha, k):
    e = expected_tokens_per_step(alpha, k)
    assert 1.0 - 1e-12 <= e <= k + 1 + 1e-9
    assert e == pytest.approx(sum(alpha**i for i in range(k + 1)), rel=1e-9)
    assert expected_tokens_per_step(alpha, k + 1) >= e - 1e-12


@pytest.mark.parametrize("alpha,k", [(0.3, 2), (0.6, 4), (0.8, 4), (0.9, 8), (1.0, 3), (0.0, 5)])
def test_formula_vs_simulation(alpha, k):
    sim = simulate_tokens_per_step(alpha, k, 200_000, seed=1)
    assert sim.min() >= 1 and sim.max() <= k + 1
    se = sim.std() / math.sqrt(sim.size) + 1e-12
    assert abs(sim.mean() - expected_tokens_per_step(alpha, k)) < 5 * se


def test_formula_vs_real_verify():
    """Context-free rows with sum min(p, q) = alpha make acceptances i.i.d., so verify's tokens per step
    must follow (1 - alpha^(k+1)) / (1 - alpha)."""
    k = 5
    q = _rows(*[[0.5, 0.3, 0.2]] * k)
    p = _rows(*[[0.3, 0.3, 0.4]] * (k + 1))
    alpha = float(acceptance_probability(p[0], q[0]))
    n_acc, _ = _run(verify_batch, q, p, N_DRAWS, seed=3)
    tokens = (n_acc + 1).double()
    se = float(tokens.std()) / math.sqrt(N_DRAWS)
    assert abs(float(tokens.mean()) - expected_tokens_per_step(alpha, k)) < 5 * se


def test_formula_bad_inputs():
    with pytest.raises(ValueError, match="alpha"):
        expected_tokens_per_step(1.2, 3)
    with pytest.raises(ValueError, match="k"):
        expected_tokens_per_step(0.5, -1)
    with pytest.raises(TypeError, match="k"):
        expected_tokens_per_step(0.5, 2.5)
    with pytest.raises(ValueError, match="c"):
        expected_speedup(0.5, 2, -0.1)
    with pytest.raises(ValueError, match="n_steps"):
        simulate_tokens_per_step(0.5, 2, 0)


# ------------------------------------------------------------------------------- decoding with toy LMs
class ToyCache:
    def __init__(self) -> None:
        self.tokens: list[int] = []

    def __len__(self) -> int:
        return len(self.tokens)

    def truncate(self, n: int) -> None:
        assert 0 <= n <= len(self.tokens)
        del self.tokens[n:]


class ToyLM:
    """An exact little LM: next-token logits = A[last token] + B[sum of the context mod 3], so the whole
    context window matters (a stale cache entry or a wrong window changes the prediction)."""

    def __init__(self, V: int, seed: int, scale: float = 1.5, block_size: int | None = None) -> None:
        g = torch.Generator().manual_seed(seed)
        self.A = torch.randn(V, V, generator=g, dtype=torch.float64) * scale
        self.B = torch.randn(3, V, generator=g, dtype=torch.float64) * scale
        self.block_size = block_size
        self.calls = 0

    def new_cache(self, batch_size: int = 1, storage=None) -> ToyCache:
        return ToyCache()

    def row(self, context: list[int]) -> torch.Tensor:
        return self.A[context[-1]] + self.B[sum(context) % 3]

    def __call__(self, idx: torch.Tensor, cache: ToyCache | None = None) -> torch.Tensor:
        self.calls += 1
        new = idx[0].tolist()
        ctx = (list(cache.tokens) if cache is not None else []) + new
        if self.block_size is not None:
            assert len(ctx) <= self.block_size, "context longer than block_size"
        if cache is not None:
            cache.tokens.extend(new)
        past = len(ctx) - len(new)
        return torch.stack([self.row(ctx[: past + i + 1]) for i in range(len(new))])[None]


def toy_plain_greedy(model: ToyLM, prompt: list[int], n: int) -> list[int]:
    """Plain greedy decoding with tinylm.generate's window rule, no cache: predict position m from
    history[s:m]; start s = max(0, P - bs); slide to s = m - bs // 2 when m - s > bs."""
    bs = model.block_size
    hist = list(prompt)
    s = max(0, len(prompt) - bs) if bs else 0
    out = []
    while len(out) < n:
        m = len(hist)
        if bs and m - s > bs:
            s = m - bs // 2
        x = int(model.row(hist[s:m]).argmax())
        hist.append(x)
        out.append(x)
    return out


@pytest.mark.parametrize("k", [0, 1, 3, 6])
@pytest.mark.parametrize("block_size", [None, 8, 9])
def test_toy_greedy_speculative_equals_plain_greedy(k, block_size):
    target = ToyLM(7, seed=0, block_size=block_size)
    draft = ToyLM(7, seed=1, block_size=block_size)
    for prompt in ([3], [1, 2, 3, 4, 5], list(range(7)) * 2):
        want = toy_plain_greedy(target, prompt, 40)
        got, st_ = speculative_decode(target, draft, prompt, 40, k=k)
        assert got == want
        assert st_["new_tokens"] == 40 and 1 <= st_["target_calls"] <= 40
        assert st_["draft_calls"] <= k * st_["target_calls"]
        assert st_["tokens_per_target_call"] == pytest.approx(40 / st_["target_calls"])


def test_toy_self_draft_accepts_everything():
    target = ToyLM(5, seed=0)
    _, st_ = speculative_decode(target, target, [1, 2], 41, k=4, temperature=0.0)
    assert st_["acceptance_rate"] == 1.0 and st_["target_calls"] == 9  # 8 steps of 5 tokens + 1 last
    _, st_ = speculative_decode(target, target, [1, 2], 41, k=4, temperature=1.0, seed=3)
    assert st_["acceptance_rate"] == 1.0


class ConstLM(ToyLM):
    """The same next-token distribution everywhere: acceptances are then i.i.d. with alpha = sum min(p, q)."""

    def __init__(self, probs) -> None:
        super().__init__(len(probs), seed=0)
        self.logits = torch.log(torch.tensor(probs, dtype=torch.float64))

    def row(self, context):
        return self.logits


def test_decode_stats_match_the_iid_model():
    target, draft = ConstLM([0.5, 0.3, 0.2]), ConstLM([0.3, 0.3, 0.4])
    alpha = 0.8
    for k in (2, 5):
        ids, st_ = speculative_decode(target, draft, [0], 6000, k=k, temperature=1.0, seed=k)
        assert st_["acceptance_rate"] == pytest.approx(alpha, abs=0.02)
        assert st_["tokens_per_target_call"] == pytest.approx(expected_tokens_per_step(alpha, k), rel=0.03)
        assert st_["accepted_fraction"] < st_["acceptance_rate"]
        assert st_["accepted"] + st_["target_calls"] == 6000  # each call: accepted drafts + 1 own token
        assert sum(st_["accepted_histogram"]) <= st_["target_calls"]
        counts = np.bincount(ids, minlength=3)
        assert stats.chisquare(counts, np.array([0.5, 0.3, 0.2]) * 6000).pvalue > P_PASS


def _toy_joint(model: ToyLM, prompt: list[int], n: int, temperature: float) -> dict[tuple, float]:
    V = model.A.shape[0]
    out = {}
    for seq in itertools.product(range(V), repeat=n):
        hist, pr = list(prompt), 1.0
        for x in seq:
            pr *= float(torch.softmax(model.row(hist) / temperature, -1)[x])
            hist.append(x)
        out[seq] = pr
    return out


def _sampled_joint_pvalue(verify_impl, monkeypatch, runs: int = 2500, *, use_draft: bool = True, lookup=False,
                          stop_below=None) -> float:
    target = ToyLM(3, seed=5, scale=1.0)
    draft = ToyLM(3, seed=6, scale=1.0) if use_draft else None
    prompt, n, T = ([0, 1, 0, 1, 2, 0] if lookup else [0, 1]), 3, 0.8  # with repeats, lookup finds matches
    if verify_impl is not None:
        monkeypatch.setattr(spec, "_verify_lists", verify_impl)  # the rule speculative_decode applies per step
    joint = _toy_joint(target, prompt, n, T)
    cells = list(joint)
    counts = dict.fromkeys(cells, 0)
    looked_up = 0
    for seed in range(runs):
        ids, st_ = speculative_decode(target, draft, prompt, n, k=2, temperature=T, seed=seed, lookup=lookup,
                                      stop_below=stop_below)
        counts[tuple(ids)] += 1
        looked_up += st_["lookup_proposed"]
    assert (looked_up > runs) == bool(lookup)  # with lookup, most runs verify looked-up tokens
    f_obs = np.array([counts[c] for c in cells], dtype=float)
    f_exp = np.array([joint[c] for c in cells]) * runs
    small = f_exp < 5  # pool rare continuations into one cell (chi-square needs expected counts >= 5)
    f_obs = np.append(f_obs[~small], f_obs[small].sum())
    f_exp = np.append(f_exp[~small], f_exp[small].sum())
    assert f_exp.size >= 10 and f_exp.min() >= 5
    return float(stats.chisquare(f_obs, f_exp * f_obs.sum() / f_exp.sum()).pvalue)


def test_toy_sampling_follows_the_target_joint_distribution(monkeypatch):
    """Cells = the 27 three-token continuations (rare ones pooled), 2500 seeded runs (k = 2, T = 0.8)."""
    assert _sampled_joint_pvalue(None, monkeypatch) > P_PASS


def test_toy_sampling_negative_control(monkeypatch):
    """The same test with a verify that draws the replacement from p instead of the residual must fail."""
    def bad_verify(tokens, q, p, u):  # the right acceptance test, but a rejected token is replaced from p
        for i, x in enumerate(tokens):
            q_x = 1.0 if q[i] is None else q[i][x]
            if not (q_x > 0 and u[i] * q_x < p[i][x]):
                return i, spec._draw(p[i], u[-1])
        return len(tokens), spec._draw(p[-1], u[-1])

    assert _sampled_joint_pvalue(bad_verify, monkeypatch) < P_FAIL


@pytest.mark.parametrize("use_draft", [True, False], ids=["lookup+draft", "lookup alone"])
def test_toy_sampling_with_prompt_lookup_follows_the_target_joint_distribution(monkeypatch, use_draft):
    """Prompt-lookup tokens are one-hot draft rows: exact speculative sampling keeps the target's distribution."""
    assert _sampled_joint_pvalue(None, monkeypatch, use_draft=use_draft, lookup=(2, 1)) > P_PASS


def test_toy_sampling_with_prompt_lookup_negative_control(monkeypatch):
    """Accepting every looked-up token (as if it were the target's choice) biases the output and must fail."""

    def accept_all(tokens, q, p, u):
        return len(tokens), spec._draw(p[len(tokens)], u[-1])

    assert _sampled_joint_pvalue(accept_all, monkeypatch, use_draft=False, lookup=(2, 1)) < P_FAIL


@pytest.mark.parametrize("k", [1, 3, 6])
@pytest.mark.parametrize("block_size", [None, 8])
@pytest.mark.parametrize("use_draft", [True, False])
def test_toy_greedy_with_prompt_lookup_equals_plain_greedy(k, block_size, use_draft):
    target = ToyLM(4, seed=0, block_size=block_size)
    draft = ToyLM(4, seed=1, block_size=block_size) if use_draft else None
    for prompt in ([3], [1, 2, 3, 1, 2, 3, 1], [0, 1] * 5):
        want = toy_plain_greedy(target, prompt, 40)
        got, st_ = speculative_decode(target, draft, prompt, 40, k=k, lookup=(3, 1))
        assert got == want
        assert st_["new_tokens"] == 40 and st_["proposed"] >= st_["lookup_proposed"] > 0
        if not use_draft:
            assert st_["draft_calls"] == 0


def test_decode_bad_inputs():
    t = ToyLM(3, 0)
    with pytest.raises(ValueError, match="prompt_ids"):
        speculative_decode(t, t, [], 3)
    with pytest.raises(ValueError, match="k"):
        speculative_decode(t, t, [0], 3, k=-1)
    with pytest.raises(ValueError, match="temperature"):
        speculative_decode(t, t, [0], 3, temperature=-1.0)
    with pytest.raises(TypeError, match="draft"):
        speculative_decode(t, object(), [0], 3)
    assert speculative_decode(t, t, [0], 0)[0] == []
    with pytest.raises(ValueError, match="lookup"):
        speculative_decode(t, None, [0], 3)
    with pytest.raises(TypeError, match="lookup"):
        speculative_decode(t, t, [0], 3, lookup="yes")
    with pytest.raises(ValueError, match="max_ngram"):
        speculative_decode(t, None, [0], 3, lookup=(1, 2))


def test_noisy_draft_simulation_matches_errata_rows_77_82():
    from lecture_lib.speculative import simulate_noisy_draft

    r = simulate_noisy_draft(2, n=200_000, seed=0)
    assert r["pairwise_flip_exact"] == pytest.approx(0.0700, abs=1e-4)  # not Q(4.47) = 3.9e-6
    assert r["pairwise_flip"] == pytest.approx(r["pairwise_flip_exact"], abs=0.003)
    assert r["greedy_agreement"] == pytest.approx(0.931, abs=0.003)
    assert r["acceptance"] == pytest.approx(0.946, abs=0.003)
    more = simulate_noisy_draft(256, n=4000, seed=0)
    assert more["acceptance"] < r["acceptance"] and more["greedy_agreement"] < r["greedy_agreement"]
    with pytest.raises(ValueError, match="n_classes"):
        simulate_noisy_draft(1)
    with pytest.raises(ValueError, match="noise_var"):
        simulate_noisy_draft(2, noise_var=-1.0)


# ------------------------------------------------------------------------------------- on the tiny LM
@pytest.fixture(scope="module")
def int4_self(tiny_lms):
    from lecture_lib.speculative import quantspec_draft

    return quantspec_draft(tiny_lms[0], weight_bits=4, group_size=32, kv_format="int4")


PROMPTS = ["The ", "class C:\n    def ", "A function definition defines a user-defined function object"]


@pytest.mark.parametrize("k", [1, 4, 7])
def test_tinylm_greedy_speculative_equals_generate(tiny_lms, k):
    from lecture_lib import tinylm
    from lecture_lib.speculative import speculative_generate

    teacher, student = tiny_lms
    for i, prompt in enumerate(PROMPTS):
        n = 150 if i == 2 else 60  # the last one runs past block_size = 128 (context window slides)
        want = tinylm.generate(teacher, prompt, n)
        got, st_ = speculative_generate(teacher, student, prompt, n, k=k)
        assert got == want, (k, prompt)
        assert len(got) == n and st_["new_tokens"] == n
        assert 0.0 < st_["acceptance_rate"] < 1.0
        assert st_["tokens_per_target_call"] > 1.0


@pytest.mark.parametrize("k", [2, 4, 8])
@pytest.mark.parametrize("use_student", [True, False], ids=["lookup+student", "lookup alone"])
def test_tinylm_greedy_with_prompt_lookup_equals_generate(tiny_lms, k, use_student):
    from lecture_lib import tinylm
    from lecture_lib.speculative import speculative_generate

    teacher, student = tiny_lms
    for i, prompt in enumerate(PROMPTS):
        n = 150 if i == 2 else 60  # past block_size = 128: the window slides
        want = tinylm.generate(teacher, prompt, n)
        got, st_ = speculative_generate(teacher, student if use_student else None, prompt, n, k=k, lookup=True)
        assert got == want, (k, prompt)
        assert st_["new_tokens"] == n and st_["lookup_proposed"] > 0
    # a text that repeats itself: lookup alone emits several tokens per target call
    prompt = "def f(x):\n    return x\n" * 4
    got, st_ = speculative_generate(teacher, None, prompt, 60, k=k, lookup=True)
    assert got == tinylm.generate(teacher, prompt, 60)
    assert st_["draft_calls"] == 0 and st_["tokens_per_target_call"] > 1.25


def test_tinylm_int4_self_draft_greedy_equivalence_and_acceptance(tiny_lms, int4_self):
    from lecture_lib import tinylm
    from lecture_lib.kvcache import QuantizedKVStorage
    from lecture_lib.speculative import speculative_generate

    teacher, student = tiny_lms
    assert isinstance(int4_self.new_cache(1).layers[0], QuantizedKVStorage)
    val = tinylm.validation_text()
    acc = {"self": [0, 0], "student": [0, 0]}
    for start in (3000, 21000):  # two held-out passages, 100 characters each
        prompt = val[start : start + 48]
        want = tinylm.generate(teacher, prompt, 100)
        for name, d in (("self", int4_self), ("student", student)):
            got, st_ = speculative_generate(teacher, d, prompt, 100, k=4)
            assert got == want
            acc[name][0] += st_["accepted"]
            acc[name][1] += st_["proposed"]
    rate = {name: a / p for name, (a, p) in acc.items()}
    # the INT4 copy of the target agrees with it more often than the 1-layer student does
    assert 0.0 < rate["student"] < rate["self"] < 1.0


def test_tinylm_target_as_its_own_draft(tiny_lms):
    from lecture_lib.speculative import speculative_generate

    teacher, _ = tiny_lms
    _, st_ = speculative_generate(teacher, teacher, PROMPTS[0], 40, k=4)
    assert st_["acceptance_rate"] >= 0.95  # 1 up to float differences between 1-token and k-token forwards


def test_tinylm_sampling_is_seeded(tiny_lms):
    from lecture_lib.speculative import speculative_generate

    teacher, student = tiny_lms
    a = speculative_generate(teacher, student, PROMPTS[0], 40, k=3, temperature=1.0, seed=7)
    b = speculative_generate(teacher, student, PROMPTS[0], 40, k=3, temperature=1.0, seed=7)
    c = speculative_generate(teacher, student, PROMPTS[0], 40, k=3, temperature=1.0, seed=8)
    assert a == b and a[0] != c[0] and len(c[0]) == 40
    assert 0.0 < a[1]["acceptance_rate"] < 1.0


def test_tinylm_first_sampled_token_follows_the_teacher(tiny_lms):
    """Chi-square of the first emitted character (k = 1, T = 1, 1200 seeds) against the teacher's softmax."""
    from lecture_lib import tinylm
    from lecture_lib.speculative import speculative_decode

    teacher, student = tiny_lms
    ids = tinylm.encode("The value of x is ")
    with torch.no_grad():
        p = torch.softmax(teacher(torch.tensor([ids]))[0, -1].double(), -1)
    runs = 1200
    firsts = [speculative_decode(teacher, student, ids, 2, k=1, temperature=1.0, seed=s)[0][0] for s in range(runs)]
    counts = np.bincount(firsts, minlength=p.numel()).astype(float)
    f_exp = p.numpy() * runs
    small = f_exp < 5
    f_obs = np.append(counts[~small], counts[small].sum())
    f_exp = np.append(f_exp[~small], f_exp[small].sum())
    assert f_exp.size >= 3
    assert stats.chisquare(f_obs, f_exp).pvalue > P_PASS


# ======================================================================== adaptive draft length (stop_below)
def test_toy_sampling_with_adaptive_draft_length_follows_the_target_joint_distribution(monkeypatch):
    """Stopping a step's draft when the draft is unsure reads only the draft's numbers: still exact at T > 0."""
    assert _sampled_joint_pvalue(None, monkeypatch, stop_below=0.6) > P_PASS


@pytest.mark.parametrize("k", [3, 8])
def test_tinylm_greedy_with_adaptive_draft_length_equals_generate_and_saves_draft_calls(tiny_lms, k):
    from lecture_lib import tinylm
    from lecture_lib.speculative import speculative_generate

    teacher, student = tiny_lms
    prompt, n = PROMPTS[2], 150
    want = tinylm.generate(teacher, prompt, n)
    fixed, st_fixed = speculative_generate(teacher, student, prompt, n, k=k, lookup=True)
    adaptive, st_ = speculative_generate(teacher, student, prompt, n, k=k, lookup=True, stop_below=0.5)
    assert adaptive == fixed == want
    assert st_["draft_calls"] < st_fixed["draft_calls"]  # unsure guesses end the step's draft early
    assert st_["acceptance_rate"] > st_fixed["acceptance_rate"]  # what is left is more often right
    # stop_below=1: the draft stops after its first guess of every step (a float32 softmax of this student stays < 1)
    _, st_one = speculative_generate(teacher, student, prompt, n, k=k, stop_below=1.0)
    assert st_one["proposed"] == st_one["draft_calls"]
    assert st_one["target_calls"] - 3 <= st_one["draft_calls"] <= st_one["target_calls"]


@pytest.mark.parametrize("bad, err", [(1.5, ValueError), (-0.1, ValueError), ("0.5", TypeError), (float("nan"), ValueError)])
def test_stop_below_must_be_a_probability(bad, err):
    target = ToyLM(3, seed=5)
    with pytest.raises(err, match="stop_below"):
        speculative_decode(target, ToyLM(3, seed=6), [0, 1], 3, k=2, stop_below=bad)
