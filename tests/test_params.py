"""Run parameters: --param KEY=VALUE (JSON or string, dotted keys) and --params-file (unit tests
of xether_lib.params; the end-to-end check of what reaches the server is in test_pipeline.py)."""

import io
import json

import pytest

from xether_lib.errors import UsageError
from xether_lib.params import build_params, from_params, merge, parse_value, read_params_file


@pytest.mark.parametrize("text, value", [
    ("5", 5), ("-2.5", -2.5), ("true", True), ("false", False), ("null", None),
    ('["a","b"]', ["a", "b"]), ('{"x": 1}', {"x": 1}), ('"quoted"', "quoted"),
    ("hello", "hello"), ("", ""), ("2024-01-01", "2024-01-01"), ("01", "01"),
    ("NaN", "NaN"), ("Infinity", "Infinity"), ("[1,", "[1,"), (" 7 ", 7),
    ("a=b", "a=b"),
])
def test_values_are_json_when_valid_else_strings(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_dotted_keys_build_nested_objects_and_later_keys_win():
    params = from_params(["n=5", "flag=true", 'tags=["a","b"]', "date_range.start=2024-01-01",
                          "date_range.end=2024-02-01", "a.b.c=x", "n=6", "expr=x=y"])
    assert params == {"n": 6, "flag": True, "tags": ["a", "b"], "expr": "x=y",
                      "date_range": {"start": "2024-01-01", "end": "2024-02-01"},
                      "a": {"b": {"c": "x"}}}
    # A value can be an empty string, and the result is valid JSON for the request body.
    assert json.loads(json.dumps(from_params(["empty="]))) == {"empty": ""}


@pytest.mark.parametrize("item, words", [
    ("novalue", "KEY=VALUE"), ("=5", "KEY=VALUE"), ("a..b=1", "empty part"),
    (".a=1", "empty part"), ("a.=1", "empty part"),
])
def test_bad_param_items_are_usage_errors(item, words):
    with pytest.raises(UsageError) as info:
        from_params([item])
    assert words in info.value.message
    assert info.value.exit_code == 2


def test_a_dotted_key_cannot_reach_into_a_plain_value():
    with pytest.raises(UsageError) as info:
        from_params(["a=1", "a.b=2"])
    assert "a is already set" in info.value.message


def test_merge_overrides_file_keys_and_merges_nested_objects():
    base = {"n": 1, "keep": "yes", "range": {"start": "s", "end": "e"}, "scalar": 3}
    over = {"n": 2, "range": {"start": "S"}, "scalar": {"now": "object"}}
    assert merge(base, over) == {"n": 2, "keep": "yes", "range": {"start": "S", "end": "e"},
                                 "scalar": {"now": "object"}}
    assert base["range"] == {"start": "s", "end": "e"}  # the input is left alone


def test_params_file_and_stdin(tmp_path):
    path = tmp_path / "p.json"
    path.write_bytes(b'\xef\xbb\xbf{"dataset_id": 17, "range": {"start": "a", "end": "b"}}')
    assert build_params(["range.end=z", "n=1"], str(path)) == {
        "dataset_id": 17, "range": {"start": "a", "end": "z"}, "n": 1}
    stdin = io.BytesIO(b'{"from": "stdin"}')
    assert build_params([], "-", stdin=stdin) == {"from": "stdin"}
    assert build_params([]) == {}


def test_invalid_params_file_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "a": 1,\n  "b": oops\n}\n')
    with pytest.raises(UsageError) as info:
        read_params_file(str(path))
    assert "line 3, column 8" in info.value.message
    assert str(path) in info.value.message


@pytest.mark.parametrize("content, kind", [
    (b"[1, 2]", "an array"), (b'"text"', "a string"), (b"5", "a number"), (b"null", "null"),
])
def test_params_file_must_hold_an_object(tmp_path, content, kind):
    path = tmp_path / "p.json"
    path.write_bytes(content)
    with pytest.raises(UsageError) as info:
        read_params_file(str(path))
    assert "must hold a JSON object" in info.value.message and kind in info.value.message


def test_unreadable_or_non_utf8_params_files(tmp_path):
    with pytest.raises(UsageError) as info:
        read_params_file(str(tmp_path / "missing.json"))
    assert "cannot read params file" in info.value.message
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(UsageError) as info:
        read_params_file(str(path))
    assert "not UTF-8" in info.value.message
    path.write_bytes(b'{"x": NaN}')
    with pytest.raises(UsageError) as info:
        read_params_file(str(path))
    assert "NaN" in info.value.message
