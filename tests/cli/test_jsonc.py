"""The tolerant JSON reader: comments and trailing commas as people write them, strict JSON otherwise."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli.template_files import JsonSyntaxError, loads_tolerant


def test_line_and_block_comments_are_ignored() -> None:
    text = """
    // the template for the nightly build
    {
      "location": "eastus", // the build region
      /* identity
         comes later */
      "tags": {"a": "b"}
    }
    """
    assert loads_tolerant(text) == {"location": "eastus", "tags": {"a": "b"}}


def test_urls_and_comment_markers_inside_strings_survive() -> None:
    text = r"""{
      "scriptUri": "https://example.com/a//b.sh", // a comment after a URL
      "inline": ["echo '/* not a comment */'", "echo \"quoted // still text\"", "c:\\path\\"],
    }"""
    value = loads_tolerant(text)
    assert value["scriptUri"] == "https://example.com/a//b.sh"
    assert value["inline"] == ["echo '/* not a comment */'", 'echo "quoted // still text"', "c:\\path\\"]


def test_trailing_commas_in_objects_and_arrays_are_accepted() -> None:
    text = '{"a": [1, 2, 3,], "b": {"c": true,},\n}'
    assert loads_tolerant(text) == {"a": [1, 2, 3], "b": {"c": True}}


def test_trailing_comma_before_a_comment_then_bracket_is_accepted() -> None:
    assert loads_tolerant('{"a": [1, // one\n /* end */ ]}') == {"a": [1]}


def test_a_comma_inside_a_string_before_a_bracket_is_kept() -> None:
    assert loads_tolerant('{"a": "x, ]", "b": ",}"}') == {"a": "x, ]", "b": ",}"}


def test_strict_json_parses_exactly_as_the_standard_library_does() -> None:
    text = json.dumps({"k": ["v", 1, 2.5, None, False, {"n": "\u00e9\\//"}]})
    assert loads_tolerant(text) == json.loads(text)


def test_a_byte_order_mark_is_ignored() -> None:
    assert loads_tolerant('\ufeff{"a": 1}') == {"a": 1}


def test_syntax_errors_report_the_line_and_column_of_the_original_text() -> None:
    text = '{\n  // comment\n  "a": 1\n  "b": 2\n}'
    with pytest.raises(JsonSyntaxError) as caught:
        loads_tolerant(text)
    assert (caught.value.line, caught.value.column) == (4, 3)
    assert "line 4, column 3" in str(caught.value)


def test_an_unterminated_block_comment_is_a_syntax_error_at_its_start() -> None:
    with pytest.raises(JsonSyntaxError) as caught:
        loads_tolerant('{"a": 1}\n  /* never closed')
    assert (caught.value.line, caught.value.column) == (2, 3)


def test_nan_and_infinity_are_rejected() -> None:
    with pytest.raises(JsonSyntaxError, match="NaN"):
        loads_tolerant('{"a": NaN}')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(value=json_values, indent=st.sampled_from([None, 2]))
@settings(max_examples=200, deadline=None)
def test_any_strict_json_reads_back_unchanged(value: object, indent: int | None) -> None:
    assert loads_tolerant(json.dumps(value, indent=indent)) == value


@given(value=st.dictionaries(st.text(), st.text() | st.integers(), min_size=1, max_size=5))
@settings(max_examples=100, deadline=None)
def test_comments_and_a_trailing_comma_around_any_object_change_nothing(value: dict[str, object]) -> None:
    text = json.dumps(value, indent=2)
    commented = "// head\n" + text[:-1].rstrip() + ", /* tail */\n}\n// end"
    assert loads_tolerant(commented) == value
