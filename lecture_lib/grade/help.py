"""Help for a learner who is stuck: three hints per question, from a nudge to the method, and a one-line note
that goes with the reference solution. Shown by ``hint("B2", level)`` and ``solution("B2")``
(:mod:`lecture_lib.grade.notebook`); the reference code itself comes from ``solutions/`` (``reference.json``).

Level 1 names the idea, level 2 the formula or the steps, level 3 the code shape (short of the answer).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, NamedTuple

__all__ = ["HELP", "Help", "help_for"]


class Help(NamedTuple):
    """Three hints of growing strength and the note printed with the reference solution."""

    level1: str
    level2: str
    level3: str
    explanation: str


HELP: Mapping[str, Help] = MappingProxyType({
    # ------------------------------------------------------------------------------------------- Part A
    "A1": Help(
        "One scale for the whole tensor: the largest |w| must land on the largest code, 7.",
        "s = max|w| / 7 (use 1.0 when w is all zeros); q = clamp(round(w / s), -7, 7).",
        "w = torch.as_tensor(w, dtype=torch.float32); scale = float(w.abs().max()) / 7 ...; "
        "codes = torch.clamp(torch.round(w / scale), -7, 7).to(torch.int8)",
        "The scale maps max|w| onto code 7; torch.round rounds half to even; an all-zero tensor gets scale 1.",
    ),
    "A2": Help(
        "Dequantizing undoes the division: multiply each code by the scale.",
        "w_hat = codes * s as float32; MAE = mean over all elements of |w - w_hat| (not a sum, not squared).",
        "torch.as_tensor(codes).to(torch.float32) * scale; float((w - w_hat).abs().mean())",
        "Codes times the scale give the grid values; the mean absolute error averages |w - w_hat| over n elements.",
    ),
    "A3": Help(
        "Each row gets its own scale and zero point, and the range must contain 0 so that 0 is exact.",
        "lo = min(row min, 0), hi = max(row max, 0), s = (hi - lo) / 255, z = round(-lo / s), "
        "q = clamp(round(w / s) + z, 0, 255).",
        "lo = w.amin(dim=1).clamp(max=0); hi = w.amax(dim=1).clamp(min=0); scale = (hi - lo) / 255 "
        "(1 where 0); zero_point = torch.round(-lo / scale); codes = round(w / scale[:, None]) + zero_point[:, None]",
        "Widening [min, max] to include 0 makes w = 0 map exactly onto the zero point; per-row scales follow each "
        "channel's range.",
    ),
    "A4": Help(
        "Two codes share a byte: the first in the low 4 bits, the second in the high 4 bits.",
        "byte_i = (c[2i] & 0xF) | ((c[2i+1] & 0xF) << 4); pad an odd count with one 0; unpack: low = b & 0xF, "
        "high = b >> 4, then values >= 8 are negative (subtract 16).",
        "c = c.to(torch.int16); nib = (c & 0xF).reshape(-1, 2); (nib[:, 0] | (nib[:, 1] << 4)).to(torch.uint8); "
        "unpack with torch.stack([p & 0xF, p >> 4], dim=1).reshape(-1)[:n]",
        "& 0xF keeps a code's 4-bit two's complement; unpacking reverses the nibble order and sign-extends.",
    ),
    "A5": Help(
        "Split the byte into 1 sign bit, 4 exponent bits and 3 mantissa bits, then apply the formula.",
        "s = code >> 7, e = (code >> 3) & 0xF, m = code & 7; e = 0: (-1)^s 2^-6 m/8; else (-1)^s 2^(e-7) (1 + m/8); "
        "only 0x7F and 0xFF are NaN.",
        "if e == 0xF and m == 7: return nan; if e == 0: return sign * 2.0**-6 * (m / 8); "
        "return sign * 2.0**(e - 7) * (1 + m / 8)",
        "E4M3FN has bias 7, subnormals at e = 0 and no infinity: the top exponent still holds normal numbers up to 448.",
    ),
    "A6": Help(
        "Only the KV heads are cached, and every layer caches both a key and a value.",
        "bytes per token = 2 * layers * n_kv_heads * head_dim * bytes_per_value (n_heads does not appear).",
        "return 2 * layers * n_kv_heads * head_dim * bytes_per_value",
        "K and V (the 2) for each layer and each KV head; grouped-query attention shares KV heads between query heads.",
    ),
    "A7": Help(
        "Forward: the fake-quantized value. Backward: pretend round() is the identity, but keep the clamp's zero "
        "gradient.",
        "r = round(x / s); inside = qmin <= r <= qmax; forward clamp(r, qmin, qmax) * s; gradient 1 inside, 0 outside.",
        "inside = ((r >= qmin) & (r <= qmax)).to(x.dtype); q = torch.clamp(r, qmin, qmax) * scale; "
        "return x * inside + (q - x * inside).detach()",
        "The detach trick gives the forward value q while the gradient flows only through x * inside (the clipped STE).",
    ),
    # ------------------------------------------------------------------------------------------- Part B
    "B1": Help(
        "Divide the logits by T first; softmax normalizes over the last dimension (the classes).",
        "p = exp(z/T - max(z/T)) / sum(exp(z/T - max(z/T))) along dim=-1; subtracting the max keeps exp finite.",
        "z = torch.as_tensor(logits, dtype=torch.float64) / T; e = torch.exp(z - z.amax(dim=-1, keepdim=True)); "
        "return e / e.sum(dim=-1, keepdim=True)",
        "Softmax of z/T over the classes; the row max is subtracted for stability (it does not change the result).",
    ),
    "B2": Help(
        "Two terms: a soft term comparing the student with the teacher at temperature T, and the usual "
        "cross-entropy with the labels.",
        "L = alpha * T**2 * KL(p_teacher(T) || p_student(T)) + (1 - alpha) * CE(z_S, y); the KL is summed over the "
        "classes and averaged over the N positions (F.kl_div's reduction='batchmean', not its default 'mean').",
        "log_ps = torch.log_softmax(student_logits / T, dim=-1); log_pt = torch.log_softmax(teacher_logits.detach() "
        "/ T, dim=-1); kl = (log_pt.exp() * (log_pt - log_ps)).sum(dim=-1).mean(); ce = F.cross_entropy(student_logits, "
        "labels)",
        "KL(teacher || student) at T, summed over classes and averaged over positions, times T**2 so that the soft "
        "gradients keep their size as T grows; the CE uses the raw student logits.",
    ),
    "B3": Help(
        "Keep only the tokens where the target wants more probability than the draft gave.",
        "r = max(0, p - q); return r / sum(r), and p itself when sum(r) == 0.",
        "r = (p - q).clamp(min=0); total = r.sum(); return r / total if float(total) > 0 else p",
        "Rejections happen where q over-proposes, so the replacement is drawn where p exceeds q, renormalized.",
    ),
    "B4": Help(
        "Walk the draft tokens in order; stop at the first rejection; every step emits exactly one token of the "
        "target's own.",
        "accept x_i iff u[i] < p[i, x_i] / q[i, x_i]; on rejection draw from the residual of row i, after k "
        "acceptances from p[k]; draw = first index whose cumulative probability is > v.",
        "for i, x in enumerate(draft_tokens): if u[i] < p[i, x] / q[i, x]: out.append(int(x)); continue; "
        "dist = residual(row i); break ... else dist = p[k]; "
        "out.append(int(torch.searchsorted(torch.cumsum(dist, 0), v, right=True)))",
        "Accept-then-correct keeps the target's distribution exactly; the extra token is the corrected or the bonus one.",
    ),
    "B5": Help(
        "Count the accepted prefix and the one token the target adds itself.",
        "E[tokens] = 1 + alpha + alpha**2 + ... + alpha**k = (1 - alpha**(k+1)) / (1 - alpha); k + 1 at alpha = 1.",
        "if alpha == 1: return float(k + 1); return (1 - alpha ** (k + 1)) / (1 - alpha)",
        "A geometric sum: the i-th draft token survives with probability alpha**i, and the target always adds one.",
    ),
    "B6": Help(
        "Speedup = tokens per step divided by what a step costs, measured in target calls.",
        "tokens = (1 - alpha**(k+1)) / (1 - alpha) (k + 1 at alpha = 1); a step costs k * c + 1 target calls.",
        "tokens = float(k + 1) if alpha == 1 else (1 - alpha ** (k + 1)) / (1 - alpha); return tokens / (k * c + 1)",
        "Plain decoding makes one token per target call; a speculative step makes E[tokens] for k drafts and 1 target.",
    ),
    "B7": Help(
        "Average the acceptance probability min(1, p(x)/q(x)) over x drawn from q.",
        "sum_x q(x) min(1, p(x)/q(x)) = sum_x min(p(x), q(x)) = 1 - TV(p, q), TV = half the L1 distance.",
        "return float(torch.minimum(torch.as_tensor(p), torch.as_tensor(q)).sum())",
        "The overlap of the two distributions is the acceptance rate: 1 minus their total-variation distance.",
    ),
    # ------------------------------------------------------------------------------------------- Part C
    "C1": Help(
        "The budget is the allowed failure fraction of the whole period, in minutes.",
        "(1 - slo) * days * 24 * 60; raise ValueError unless 0 < slo < 1 (99.9 is a percentage, not a fraction).",
        "if not 0 < slo < 1: raise ValueError(...); return (1 - slo) * days * 24 * 60",
        "1 - SLO of the period may fail; 99.9 % over 30 days allows 43.2 minutes.",
    ),
    "C2": Help(
        "Burn rate = how many times faster than 'exactly on budget' errors arrive.",
        "burn = error_rate / (1 - slo); 'fast burn' fires at >= 14.4, 'medium burn' at >= 6, 'slow burn' at >= 1 "
        "(all that reach their threshold fire).",
        "burn = burn_rate(error_rate, slo); return [name for name, t in {'fast burn': 14.4, 'medium burn': 6.0, "
        "'slow burn': 1.0}.items() if burn >= t]",
        "A constant error rate gives the same burn in both windows, so every alert whose threshold it reaches fires.",
    ),
    "C3": Help(
        "Find the bucket that holds the rank q * total, then interpolate linearly inside it.",
        "rank = q * total; j = first bucket with cumulative count >= rank; +Inf bucket -> largest finite bound; "
        "else lower + (upper - lower) * (rank - c_prev) / (c_j - c_prev), lower edge 0 for the first bucket.",
        "j = next(i for i, c in enumerate(cumulative_counts) if c >= rank); lower = upper_bounds[j-1] if j else 0.0; "
        "below = cumulative_counts[j-1] if j else 0.0",
        "Prometheus assumes observations spread evenly inside a bucket, and cannot see past the last finite bound.",
    ),
    "C4": Help(
        "Little's law links three averages: L = lambda * W.",
        "W = in_flight / arrival_rate; M/M/1: rho = lambda / mu, L = rho / (1 - rho); raise ValueError when rho >= 1.",
        "return in_flight / arrival_rate; rho = arrival_rate / service_rate; if rho >= 1: raise ValueError(...); "
        "return rho / (1 - rho)",
        "Little's law holds for any stable system; the M/M/1 count explodes as rho approaches 1.",
    ),
    "C5": Help(
        "n independent cases all miss the bug with probability (1 - p)**n.",
        "Smallest integer n with (1 - p)**n <= delta: n = ceil(log(delta) / log(1 - p)).",
        "return math.ceil(math.log(delta) / math.log1p(-p))",
        "Solve (1 - p)**n <= delta for n and round up (log1p keeps small p accurate).",
    ),
    "C6": Help(
        "Divide the difference of the means by a standard deviation pooled from both samples.",
        "s_p**2 = ((n1-1) s1**2 + (n2-1) s2**2) / (n1 + n2 - 2) with ddof=1 variances; d = (mean x - mean y) / s_p; "
        "labels on |d|: < 0.2 negligible, < 0.5 small, < 0.8 medium, else large.",
        "sp2 = ((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2); "
        "return float((x.mean() - y.mean()) / math.sqrt(sp2))",
        "Cohen's d measures the difference in pooled standard deviations; the sign says which sample is larger.",
    ),
    # ------------------------------------------------------------------------------------------- Part D
    "D1": Help(
        "Requests go to the workers in turn, starting again at worker 0.",
        "request k (from 0) goes to worker k mod n_workers.",
        "return [k % n_workers for k in range(n)]",
        "Round-robin cycles through the workers regardless of their speed.",
    ),
    "D2": Help(
        "Every pick raises all current weights by their weights, then lowers the winner by the total.",
        "new = current + weights; chosen = argmax(new), lowest index on a tie; new[chosen] -= sum(weights).",
        "new = [c + w for c, w in zip(current, weights)]; best = index of the first maximum; "
        "new[best] -= sum(weights); return best, new",
        "Subtracting the total from the winner spreads a heavy worker's picks smoothly instead of in a burst.",
    ),
    "D3": Help(
        "Pick the worker with the fewest requests in flight.",
        "argmin of connections, the lowest index on a tie.",
        "return connections.index(min(connections))",
        "list.index returns the first position of the minimum, which is the tie rule.",
    ),
    "D4": Help(
        "The new sample gets weight alpha, the old estimate the rest.",
        "EWMA_t = alpha * sample + (1 - alpha) * previous.",
        "return alpha * sample + (1 - alpha) * previous",
        "A small alpha remembers long; alpha = 0.1 moves 100 ms towards a 500 ms sample by 40 ms.",
    ),
    "D5": Help(
        "Handle the three states separately; an open breaker ignores results.",
        "closed: append, keep the newest window_size, open (empty window) when at least minimum_calls and "
        "rate >= threshold; half_open: collect permitted_calls results, then open or close (empty window).",
        "if state == 'open': return state, window; window = window + (failed,); closed: window = "
        "window[-window_size:] ...; half_open: if len(window) < permitted: return 'half_open', window",
        "The breaker judges a failure rate only over enough calls, and half-open decides on a fixed number of trials.",
    ),
    "D6": Help(
        "The wait before retry n is uniform between 0 and an exponentially growing, capped ceiling.",
        "t_n = min(cap, base * 2**n); delay_n = rng.uniform(0, t_n), one draw per retry, n = 0 .. attempts-1.",
        "return [float(rng.uniform(0.0, min(cap, base * 2 ** n))) for n in range(attempts)]",
        "Full jitter spreads retries over the whole window, so clients that failed together do not retry together.",
    ),
    # ------------------------------------------------------------------------------------------- Part E
    "E1": Help(
        "Round to the nearest fp16 value first, then classify what you got.",
        "spacing of fp16 near |x| = 2**(max(e - 1, -14) - 10) with x = f 2**e, 0.5 <= f < 1; round |x| to a multiple "
        "of it (ties to even); > 65504 -> inf, 0 -> zero, < 2**-14 -> subnormal, else normal.",
        "_, e2 = math.frexp(ax); spacing = 2.0 ** (max(e2 - 1, -14) - 10); r = round(ax / spacing) * spacing",
        "The category of the rounded value counts: tiny values round to 0 and values just above 65504 round to inf.",
    ),
    "E2": Help(
        "An overflow backs off and resets the count; clean steps count up and grow the scale now and then.",
        "found_inf: (scale * backoff_factor, 0); else tracker + 1, and at growth_interval: "
        "(scale * growth_factor, 0) unless that exceeds float32's max (then keep the scale).",
        "if found_inf: return scale * backoff_factor, 0; growth_tracker += 1; if growth_tracker == growth_interval: ...",
        "GradScaler's rule: shrink at once on overflow, grow only after growth_interval clean steps.",
    ),
    "E3": Help(
        "With k segments you keep k segment inputs and recompute one segment at a time.",
        "k = 0: outside + n * M; else outside + k * c + ceil(n / k) * M - c (the recomputed segment's own input is "
        "already kept).",
        "if k == 0: return outside_bytes + n_layers * block_bytes; return outside_bytes + k * input_bytes + "
        "math.ceil(n_layers / k) * block_bytes - input_bytes",
        "Memory is the kept inputs plus the largest recomputed segment; k near sqrt(n) balances the two.",
    ),
    "E4": Help(
        "A step produces one token per sequence and costs a + b * B seconds.",
        "throughput = B / (a + b B).",
        "return batch_size / (a + b * batch_size)",
        "Batching amortizes the fixed cost a; throughput saturates at 1 / b.",
    ),
    "E5": Help(
        "Little's law again: L = lambda * W, used both ways.",
        "L = arrival_rate * mean_latency; with all slots busy L = slots, so lambda_max = slots / mean_latency.",
        "return arrival_rate * mean_latency; return slots / mean_latency",
        "The number in the system is arrival rate times time spent; capacity is slots over time per request.",
    ),
    "E6": Help(
        "Every step reads all weights once, whatever the batch size.",
        "steps per second = bandwidth / (n_params * bytes_per_param); tokens per second = batch_size * that.",
        "return batch_size * bandwidth / (n_params * bytes_per_param)",
        "Decoding is bandwidth-bound: a 7B fp16 model on 100 GB/s reads 14 GB per step, about 7 steps per second.",
    ),
    # ---------------------------------------------------------------------------------------- challenges
    "A-challenge": Help(
        "3 bits are only 8 levels: spend all of them on each group's real range, and let the rounding errors of "
        "one column be corrected by the columns not yet quantized.",
        "Groups of 128 input columns (3 + 32/128 = 3.25 bits). Per group: lo = min(w, 0), hi = max(w, 0), s = (hi - lo) "
        "/ 7, z = round(-lo / s), code = clamp(round(w / s) + z, 0, 7). Then GPTQ: H = X^T X from each layer's "
        "inputs on training text (lecture_lib.experiments.partA.calibration_inputs), and after rounding column i "
        "subtract err_i * U[i, j] / U[i, i] from the later columns j (U: upper Cholesky factor of H^-1).",
        "calib = calibration_inputs(model, 32); for each Linear: h = gptq.hessian(calib[name]) + damping; u = "
        "torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True); for i in columns: "
        "new grid at i % 128 == 0; q = clamp(round(w[:, i] / s) + z, 0, 7); w[:, i+1:] -= ((w[:, i] - s*(q - z)) / "
        "u[i, i])[:, None] * u[i, i+1:]",
        "An asymmetric grid uses all 8 levels where a symmetric one wastes one and half its range on a sign the "
        "group may not need; GPTQ then minimises the layer's output error on real inputs instead of each weight's "
        "own error, which roughly halves the perplexity cost again.",
    ),
    "B-challenge": Help(
        "The teacher writes text like its training data: a guess that follows the training text's habits is "
        "accepted far more often than a copy from a context that rarely repeats itself.",
        "Count, for every n-gram of tinylm.train_text() (n = 8, 6, 4, 3), which token follows it most often. To draft: "
        "copy from the context when its suffix occurred before (prompt lookup), else append the successor of the "
        "longest matching n-gram, k times. Build the tables on the first call (it is not timed).",
        "if not _TABLES: build {(n, ngram): most frequent next id}; found = lookup_draft(context, k, max_ngram=8, "
        "min_ngram=4); if len(found) >= 3: return found; else extend a copy of context with _TABLES[(n, tuple)] ...",
        "A cheap draft that matches the target's greedy choices often: each step keeps the agreeing prefix and the "
        "target's own next token, so the output equals greedy decoding while target calls drop 3-4x.",
    ),
    "C-challenge": Help(
        "A page should mean 'this has already burnt a real share of the budget', and a blip cannot burn much: "
        "compare each trailing window's burn with what a blip plus normal background could explain.",
        "A window of W minutes averaging burn r has spent r * W / 43 200 of the budget. Blips spend <= 0.4 %, the "
        "background burns <= 1, so page when burn(W) >= m * (0.004 * 43 200 / W + 1) for several W (3 min .. 4 h), "
        "with a margin m > 1 and a short window W / 6 confirming; short windows catch fast burns early.",
        "cr = np.concatenate([[0], np.cumsum(requests)]); burn over the last W minutes at minute m = "
        "(ce[m] - ce[m - W]) / (cr[m] - cr[m - W]) / 0.001 (only once m >= W); OR the rules together",
        "Every window pages once the incident has spent slightly more than a blip can; many windows let each burn "
        "rate be caught by the shortest window that can tell it from noise.",
    ),
    "D-challenge": Help(
        "The workers' speeds are hidden, but every completion tells you how long a request really took to serve.",
        "With FIFO queues, service began at max(arrival, the worker's previous departure): s = now - that. Keep an "
        "EWMA of s per worker and send each request where (in flight + 1) * s_hat is smallest (shortest expected "
        "delay).",
        "completed(): arrival = now - latency; s = now - max(arrival, last_done[w]); last_done[w] = now; "
        "s_hat[w] = alpha * s + (1 - alpha) * s_hat[w]; pick(): min over w of (pending[w] + 1) * s_hat[w]",
        "Least-connections ignores speed and peak-EWMA's latency mixes queueing with speed; estimating each worker's "
        "service time and weighting the queue by it approximates the best dispatcher that knows the speeds.",
    ),
})


def help_for(question_id: str, lang: str = "en") -> Help:
    """The help of ``question_id`` in ``lang``: :data:`HELP`, or its Japanese edition
    (:data:`lecture_lib.grade.help_ja.HELP_JA`) for ``"ja"``."""
    if lang == "ja":
        from .help_ja import HELP_JA

        return HELP_JA[question_id]
    return HELP[question_id]
