"""Tests for lecture_lib.prompt_lookup: the n-gram draft against a brute-force definition (hypothesis), worked
examples, and bad inputs. Exactness of speculative decoding with lookup drafts: tests/test_speculative.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_lib.prompt_lookup import NGramIndex, lookup_draft

SETTINGS = settings(max_examples=200, deadline=None)
tokens_st = st.lists(st.integers(0, 3), max_size=40)  # a small alphabet: many repeats


def brute_force(tokens, k, max_ngram, min_ngram):
    """The definition, spelled out: longest n first, then the latest earlier occurrence."""
    L = len(tokens)
    for n in range(max_ngram, min_ngram - 1, -1):
        if n > L - 1:
            continue
        hits = [j for j in range(n, L) if tokens[j - n:j] == tokens[L - n:]]
        if hits:
            return tokens[max(hits):max(hits) + k]
    return []


@SETTINGS
@given(tokens_st, st.integers(0, 6), st.integers(1, 4), st.integers(0, 3))
def test_lookup_matches_the_definition(tokens, k, min_ngram, extra):
    max_ngram = min_ngram + extra
    want = brute_force(tokens, k, max_ngram, min_ngram)
    assert lookup_draft(tokens, k, max_ngram=max_ngram, min_ngram=min_ngram) == want
    index = NGramIndex(tokens, max_ngram=max_ngram, min_ngram=min_ngram)
    assert index.draft(k) == want
    assert len(index) == len(tokens)


@SETTINGS
@given(st.lists(tokens_st, max_size=6), st.integers(1, 5))
def test_incremental_extend_equals_rebuilding(chunks, k):
    index = NGramIndex(max_ngram=4, min_ngram=1)
    seen: list[int] = []
    for chunk in chunks:
        index.extend(chunk)
        seen += chunk
        assert index.draft(k) == lookup_draft(seen, k, max_ngram=4, min_ngram=1)


@SETTINGS
@given(tokens_st, st.integers(1, 6))
def test_a_draft_is_a_copy_of_what_followed_the_suffix(tokens, k):
    out = lookup_draft(tokens, k, max_ngram=3, min_ngram=1)
    assert len(out) <= k
    if out:  # some earlier occurrence of a suffix of length >= 1 is followed by exactly these tokens
        assert any(tokens[j:j + len(out)] == out and tokens[j - 1] == tokens[-1] for j in range(1, len(tokens)))


def test_examples():
    t = [5, 1, 2, 3, 9, 1, 2, 3, 7, 1, 2, 3]
    assert lookup_draft(t, 2, max_ngram=3, min_ngram=1) == [7, 1]  # latest earlier "1 2 3" is followed by 7 1
    assert lookup_draft(t, 9, max_ngram=3, min_ngram=1) == [7, 1, 2, 3]  # the copy stops at the end
    assert lookup_draft([1, 2, 3, 4], 3, max_ngram=2, min_ngram=1) == []  # nothing repeats
    assert lookup_draft([4, 2, 4, 1, 4], 2, max_ngram=3, min_ngram=1) == [1, 4]  # latest match wins
    assert lookup_draft([8, 3, 9, 8, 3], 2, max_ngram=2, min_ngram=2) == [9, 8]
    assert lookup_draft([7, 7, 7], 3, max_ngram=2, min_ngram=1) == [7]  # longest n first: "7 7" at j = 2
    assert lookup_draft([], 3) == [] and lookup_draft([1], 3) == []
    assert NGramIndex("abcab".encode(), max_ngram=2, min_ngram=1).draft(2) == list(b"c") + list(b"a")


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"k": -1}, ValueError, "k"),
        ({"k": 1.5}, TypeError, "k"),
        ({"k": 2, "min_ngram": 0}, ValueError, "min_ngram"),
        ({"k": 2, "max_ngram": 2, "min_ngram": 3}, ValueError, "max_ngram"),
        ({"k": 2, "max_ngram": True}, TypeError, "max_ngram"),
    ],
)
def test_bad_inputs(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        lookup_draft([1, 2, 1, 2], **kwargs)


def test_bad_index_arguments():
    with pytest.raises(ValueError, match="max_ngram"):
        NGramIndex(max_ngram=1, min_ngram=2)
