"""The one rule for text and numbers from outside (cairn.validation), and where naming uses it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cairn import naming
from cairn.errors import ValidationError
from cairn.validation import INT32_MAX, INT64_MAX, check_int, check_json, check_text


@pytest.mark.parametrize("bad", ["\x00", "a\x00", "\x01", "\x1b[0m", "\x7f", "\x85", "\ud800"])
def test_control_characters_and_surrogates_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="description is not allowed: it holds a"):
        check_text(bad, "description", multiline=True)


def test_free_text_may_break_lines_and_names_may_not() -> None:
    assert check_text("one\ttwo\r\nthree", "description", multiline=True)
    with pytest.raises(ValidationError, match=r"U\+000A at position 3"):
        check_text("one\ntwo", "alias")


@given(st.text(st.characters(exclude_categories=["Cc", "Cs"])))
def test_text_without_controls_passes_as_it_is(text: str) -> None:
    assert check_text(text, "x") == text


def test_integers_are_bounded_to_their_columns() -> None:
    assert check_int(INT64_MAX, "size") == INT64_MAX
    with pytest.raises(ValidationError, match="size is out of range") as caught:
        check_int(INT64_MAX + 1, "size")
    assert caught.value.details == {"min": -INT64_MAX - 1, "max": INT64_MAX}


def test_json_is_checked_all_the_way_down() -> None:
    fine = {"a": [1, 2.5, "tab\tok", {"b": None, "c": True}], "n": -(2**63)}
    assert check_json(fine, "metadata") is fine
    for bad, where in (
        ({"a": [{"b": "x\x00"}]}, "metadata.a.0.b"),
        ({"k\x00": 1}, "key 'k\\x00' of metadata"),
        ({"a": [2**64]}, "metadata.a.0"),
        ({"a": float("inf")}, "metadata.a"),
    ):
        with pytest.raises(ValidationError, match=re.escape(where)):
            check_json(bad, "metadata")


def test_naming_refuses_what_no_database_can_hold() -> None:
    with pytest.raises(ValidationError):
        naming.check_description("a\x00b")
    with pytest.raises(ValidationError):
        naming.clean_metadata({"k": "v\x00"})
    with pytest.raises(ValidationError):
        naming.clean_metadata({"k": 2**64})
    assert naming.check_description("two\nlines") == "two\nlines"


def test_version_aliases_are_ascii_and_within_the_index_column() -> None:
    assert naming.version_index("v12") == 12
    assert naming.version_index(f"v{INT32_MAX}") == INT32_MAX
    with pytest.raises(ValidationError, match="out of range"):
        naming.version_index("v99999999999999999999")
    assert not naming.is_version_alias("v\u0663")  # an Arabic-Indic three
    assert not naming.is_version_alias("v\uff10")  # a fullwidth zero


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_the_fast_scan_refuses_exactly_what_the_naming_walk_refuses(value: object) -> None:
    from cairn.validation import _raise_first_problem

    try:
        _raise_first_problem(value, "v")
        slow_refuses = False
    except ValidationError:
        slow_refuses = True
    try:
        check_json(value, "v")
        fast_refuses = False
    except ValidationError:
        fast_refuses = True
    assert fast_refuses == slow_refuses
