"""The planted-bug parser, the random-testing crash probability, and coverage-guided fuzzing with atheris."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib import fuzzing
from lecture_lib.experiments import fuzzing as fz


def encode(codes: list[int], dtype: int, magic: bytes = b"QT") -> bytes:
    """A well-formed record (the reference encoder: int4 packs code i into the low nibble of byte i // 2 for even
    i, the high nibble for odd i)."""
    if dtype == 0:
        payload = bytes(c % 256 for c in codes)
    else:
        payload = bytearray((len(codes) + 1) // 2)
        for i, c in enumerate(codes):
            payload[i // 2] |= (c % 16) << (4 * (i % 2))
        payload = bytes(payload)
    return magic + bytes([dtype, len(codes)]) + payload


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.integers(-8, 7), max_size=40))
def test_fixed_parser_decodes_every_int4_record(codes: list[int]) -> None:
    assert fuzzing.parse_record(encode(codes, 1), planted_bug=False) == codes


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.lists(st.integers(-128, 127), max_size=40))
def test_int8_records_decode_with_or_without_the_bug(codes: list[int]) -> None:
    assert fuzzing.parse_record(encode(codes, 0)) == fuzzing.parse_record(encode(codes, 0), planted_bug=False) == codes


def test_the_planted_bug_needs_an_odd_count_and_a_short_payload() -> None:
    odd = encode([1, -2, 3], 1)  # 3 codes, 2 payload bytes: correct, and the buggy parser rejects it
    with pytest.raises(fuzzing.RecordError, match="needs 1 payload bytes"):
        fuzzing.parse_record(odd)
    short = odd[:-1]  # one byte: what the buggy size check wants
    assert fuzzing.is_planted_crash(short)
    with pytest.raises(fuzzing.RecordError):
        fuzzing.parse_record(short, planted_bug=False)  # the fixed parser rejects it cleanly
    assert not fuzzing.is_planted_crash(encode([1, 2], 1))  # even counts are fine


def test_crash_probability_is_exact_by_enumeration() -> None:
    # with no magic the crash depends only on the two header bytes and the length: enumerate all of them
    # (payload bytes filled with a fixed pattern; test below: their values do not matter)
    max_len = 8
    hits = 0
    for L in range(max_len + 1):
        for b0 in range(256):
            for b1 in range(256) if L >= 2 else (0,):
                data = (bytes([b0, b1]) + b"\xa5" * max_len)[:L]
                hits += fuzzing.is_planted_crash(data, magic=b"") * (1 if L >= 2 else 256)
    assert hits / ((max_len + 1) * 65536) == fuzzing.crash_probability(max_len, magic=b"")
    # negative control: the formula with the dtype byte forgotten is off by 256
    assert fuzzing.crash_probability(max_len, magic=b"") * 256 != hits / ((max_len + 1) * 65536)


def test_payload_values_do_not_matter_for_the_crash() -> None:
    rng = np.random.default_rng(0)
    for n_half in range(0, 10):
        for _ in range(5):
            data = b"QT" + bytes([1, 2 * n_half + 1]) + rng.integers(0, 256, n_half, dtype=np.uint8).tobytes()
            assert fuzzing.is_planted_crash(data)


def test_random_testing_takes_about_one_over_p_inputs() -> None:
    # the inputs-to-find are geometric with mean 1/p: 12 seeds, mean within 3 standard errors (sd = mean)
    found = [fuzzing.random_testing(2_000_000, max_len=16, magic=b"", seed=s) for s in range(12)]
    assert all(f["found"] and fuzzing.is_planted_crash(f["crash"], magic=b"") for f in found)
    mean, e = statistics.mean(f["inputs"] for f in found), fuzzing.expected_inputs(16, magic=b"")
    assert abs(mean - e) < 3 * e / 12**0.5
    # negative control: a formula that forgets the dtype byte predicts 256x fewer inputs, far outside
    assert abs(mean - e / 256) > 3 * e / 12**0.5


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="data"):
        fuzzing.parse_record("QT")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_len"):
        fuzzing.crash_probability(-1)
    with pytest.raises(ValueError, match="max_inputs"):
        fuzzing.random_testing(0)


needs_atheris = pytest.mark.skipif(not fz.atheris_available(), reason="atheris wheels: Linux x86-64 only")


@needs_atheris
def test_atheris_finds_the_bug_behind_the_magic_quickly() -> None:
    r = fz.run_atheris(magic=b"QT", seed=1, max_runs=500_000)
    assert r["found"] and fuzzing.is_planted_crash(r["input"])
    # random testing would need 1/p = 5.6e9 inputs on average; atheris needs a few thousand
    assert r["execs"] < 1e-4 * fuzzing.expected_inputs(16)


@needs_atheris
def test_atheris_reports_nothing_on_the_fixed_parser() -> None:
    # negative control: the same fuzzer, seed and budget on the fixed parser finds no crash
    r = fz.run_atheris(magic=b"QT", seed=1, max_runs=30_000, planted_bug=False)
    assert not r["found"] and r["execs"] == 30_000


def test_recorded_fuzzing_results_are_consistent() -> None:
    res = fz.load_fuzz_results()
    for magic, row in res["magics"].items():
        m = magic.encode()
        assert row["p_crash"] == fuzzing.crash_probability(res["max_len"], magic=m)
        assert all(x is not None for x in row["atheris_execs"])
    assert len(res["magics"][""]["random_execs"]) >= 10
