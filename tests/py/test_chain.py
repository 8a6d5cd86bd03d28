import base64
import json
import zlib

import numpy as np
import pytest
from filterlab import _tiles, catalog, chain, reference
from filterlab.chain import ChainError, Step
from memory import peak_bytes

KNOWN = ", ".join(catalog.OPS)


def error(value):
    with pytest.raises(ChainError) as info:
        chain.validate(value)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_defaults_are_filled_and_values_coerced():
    steps = chain.validate(
        [
            {"op": "gaussian_blur", "params": {"sigma": 3}},
            {"op": "box_blur", "params": {"size": 5.0}, "enabled": False},
            {"op": "laplace", "params": {"neighbours": 8.0}},
            {"op": "convolve", "params": {"kernel": [[0, 0, 0], [0, 2, 0], [0, 0, 0]]}},
        ]
    )
    assert steps[0] == Step("gaussian_blur", {"sigma": 3.0, "truncate": 4.0, "mode": "reflect",
                                              "cval": 0.0})
    assert isinstance(steps[0].params["sigma"], float)
    assert steps[1].params["size"] == 5 and isinstance(steps[1].params["size"], int)
    assert steps[1].enabled is False
    assert steps[2].params["neighbours"] == 8 and isinstance(steps[2].params["neighbours"], int)
    kernel = steps[3].params["kernel"]
    assert kernel[1][1] == 2.0 and all(isinstance(v, float) for row in kernel for v in row)


def test_accepts_json_text_steps_and_empty_chains():
    assert chain.validate("[]") == []
    steps = chain.validate('[{"op": "edges", "params": {"operator": "scharr"}}]')
    assert steps[0].params["operator"] == "scharr"
    assert chain.validate(steps) == steps
    assert chain.validate(b'[{"op": "laplace"}]')[0].op == "laplace"


@pytest.mark.parametrize(
    "value, message",
    [
        ([{"op": "blur"}], f"step 1: unknown operation 'blur'; known operations: {KNOWN}"),
        ([{"op": 3}], f"step 1: unknown operation 3; known operations: {KNOWN}"),
        ([{"params": {}}], 'step 1: missing "op"'),
        ([{"op": "laplace", "colour": 1}],
         "step 1: unknown key 'colour'; expected op, params, enabled"),
        (["laplace"], "step 1: must be an object with \"op\", got 'laplace'"),
        ([{"op": "laplace"}, {"op": "gaussian_blur", "params": {"sigma": 40}}],
         "step 2 (gaussian_blur): sigma must be between 0.1 and 16, got 40"),
        ([{"op": "gaussian_blur", "params": {"sigm": 1}}],
         "step 1 (gaussian_blur): unknown parameter 'sigm'; "
         "expected one of: sigma, truncate, mode, cval"),
        ([{"op": "gaussian_blur", "params": {"sigma": "2"}}],
         "step 1 (gaussian_blur): sigma must be a number, got '2'"),
        ([{"op": "gaussian_blur", "params": {"sigma": True}}],
         "step 1 (gaussian_blur): sigma must be a number, got true"),
        ([{"op": "gaussian_blur", "params": {"sigma": None}}],
         "step 1 (gaussian_blur): sigma must be a number, got null (an empty value; "
         "JSON writes NaN and infinity as null)"),
        ([{"op": "gaussian_blur", "params": {"sigma": float("nan")}}],
         "step 1 (gaussian_blur): sigma must be a finite number; NaN is not allowed"),
        ([{"op": "unsharp_mask", "params": {"amount": float("inf")}}],
         "step 1 (unsharp_mask): amount must be a finite number; infinity is not allowed"),
        ([{"op": "unsharp_mask", "params": {"amount": float("-inf")}}],
         "step 1 (unsharp_mask): amount must be a finite number; -infinity is not allowed"),
        ([{"op": "unsharp_mask", "params": {"amount": 10**5000}}],
         "step 1 (unsharp_mask): amount must be a finite number; the value given is too large"),
        ([{"op": "box_blur", "params": {"size": 10**5000}}],
         "step 1 (box_blur): size must be between 1 and 63, got a number above 1.8e308"),
        ([{"op": "box_blur", "params": {"size": float("nan")}}],
         "step 1 (box_blur): size must be an integer; NaN is not allowed"),
        ([{"op": "box_blur", "params": {"size": None}}],
         "step 1 (box_blur): size must be an integer, got null (an empty value; "
         "JSON writes NaN and infinity as null)"),
        ([{"op": "laplace", "params": {"neighbours": -(10**5000)}}],
         "step 1 (laplace): neighbours must be one of 4, 8; got a number below -1.8e308"),
        ([{"op": "box_blur", "params": {"size": 4}}], "step 1 (box_blur): size must be odd, got 4"),
        ([{"op": "box_blur", "params": {"size": 65}}],
         "step 1 (box_blur): size must be between 1 and 63, got 65"),
        ([{"op": "box_blur", "params": {"size": 3.5}}],
         "step 1 (box_blur): size must be an integer, got 3.5"),
        ([{"op": "box_blur", "params": {"size": False}}],
         "step 1 (box_blur): size must be an integer, got false"),
        ([{"op": "box_blur", "params": {"mode": "edge"}}],
         "step 1 (box_blur): mode must be one of reflect, mirror, nearest, wrap, constant; "
         "got 'edge'"),
        ([{"op": "box_blur", "params": {"cval": 1.5}}],
         "step 1 (box_blur): cval must be between 0 and 1, got 1.5"),
        ([{"op": "laplace", "params": {"neighbours": "4"}}],
         "step 1 (laplace): neighbours must be one of 4, 8; got '4'"),
        ([{"op": "laplace", "params": {"neighbours": True}}],
         "step 1 (laplace): neighbours must be one of 4, 8; got true"),
        ([{"op": "edges", "params": {"output": "angle"}}],
         "step 1 (edges): output must be one of magnitude, x, y; got 'angle'"),
        ([{"op": "convolve", "params": {"kernel": [[1, 2], [3, 4]]}}],
         "step 1 (convolve): kernel size must be odd, got 2×2"),
        ([{"op": "convolve", "params": {"kernel": [[1, 2, 3]]}}],
         "step 1 (convolve): kernel must be square, got 1×3"),
        ([{"op": "convolve", "params": {"kernel": [[float("nan")]]}}],
         "step 1 (convolve): kernel row 1, column 1 must be a finite number; NaN is not allowed"),
        ([{"op": "convolve", "params": {"kernel": [[0, 0, 0], [0, 0, None], [0, 0, 0]]}}],
         "step 1 (convolve): kernel row 2, column 3 must be a number, got null (an empty value; "
         "JSON writes NaN and infinity as null)"),
        ([{"op": "convolve", "params": {"kernel": [[1e39]]}}],
         "step 1 (convolve): kernel row 1, column 1 must be between -1e+06 and 1e+06, "
         "got 1e+39"),
        ([{"op": "convolve", "params": {"kernel": [[True]]}}],
         "step 1 (convolve): kernel row 1, column 1 must be a number, got true"),
        ([{"op": "convolve", "params": {"kernel": "identity"}}],
         "step 1 (convolve): kernel must be a non-empty list of rows"),
        ([{"op": "laplace", "enabled": "yes"}],
         "step 1 (laplace): enabled must be true or false, got 'yes'"),
        ([{"op": "laplace", "params": [4]}],
         "step 1 (laplace): params must be an object, got a list"),
        ({"op": "laplace"}, "chain must be a list of steps, got an object"),
        ([{"op": "laplace"}] * 65, "chain has 65 steps; the limit is 64"),
    ],
)
def test_messages(value, message):
    assert error(value) == message


def test_json_errors():
    assert error("[{") == (
        "chain is not valid JSON: expecting property name enclosed in double quotes "
        "at line 1, column 3"
    )
    assert error('[{"op": "gaussian_blur", "params": {"sigma": NaN}}]') == (
        "step 1 (gaussian_blur): sigma must be a finite number; NaN is not allowed"
    )
    assert error(b"\xff\xfe") == "chain is not valid UTF-8 text"
    assert error("42") == "chain must be a list of steps, got 42"


CHAIN = [
    {"op": "convolve", "params": {"kernel": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
                                  "mode": "wrap"}},
    {"op": "gaussian_blur", "params": {"sigma": 0.1 + 0.2, "truncate": 2.5}, "enabled": False},
    {"op": "box_blur", "params": {"size": 63, "mode": "constant", "cval": 0.37}},
    {"op": "unsharp_mask"},
    {"op": "edges", "params": {"operator": "prewitt", "output": "y"}},
    {"op": "laplace", "params": {"neighbours": 8, "mode": "mirror"}},
]


def test_json_round_trip():
    steps = chain.validate(CHAIN)
    text = chain.to_json(CHAIN)
    assert chain.from_json(text) == steps
    assert json.loads(text)[1] == {
        "op": "gaussian_blur",
        "params": {"sigma": 0.30000000000000004, "truncate": 2.5, "mode": "reflect", "cval": 0.0},
        "enabled": False,
    }
    assert chain.from_json(chain.to_json(CHAIN, indent=2)) == steps
    with pytest.raises(ChainError, match="must be text"):
        chain.from_json(CHAIN)


def test_url_round_trip_is_compact_and_url_safe():
    steps = chain.validate(CHAIN)
    token = chain.to_url(CHAIN)
    assert chain.from_url(token) == steps
    assert chain.from_url(chain.to_url([])) == []
    assert set(token[2:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert "=" not in token
    assert len(token) < len(chain.to_json(CHAIN)) / 2
    assert chain.from_url("  " + token + "\n") == steps


def test_url_leaves_out_defaults():
    token = chain.to_url([{"op": "laplace", "params": {"neighbours": 4}}])
    packed = base64.urlsafe_b64decode(token[2:] + "=" * (-len(token[2:]) % 4))
    assert json.loads(zlib.decompress(packed)) == [{"op": "laplace"}]


def _token(payload):
    return "1." + base64.urlsafe_b64encode(zlib.compress(payload)).decode().rstrip("=")


@pytest.mark.parametrize(
    "token, message",
    [
        ("", 'chain link is not in a known format (it should start with "1.")'),
        ("2.abc", 'chain link is not in a known format (it should start with "1.")'),
        ("1.a", "chain link is damaged: it is not valid base64url text"),
        ("1.ab$d", "chain link is damaged: it is not valid base64url text"),
        ("1.aGVsbG8", "chain link is damaged: it could not be decompressed"),
        ("1." + "A" * 9000, "chain link is too long (9002 characters; the limit is 8192)"),
        (_token(b"\xff\xfe"), "chain link is damaged: it is not UTF-8 text"),
        (_token(b"[{"), "chain is not valid JSON"),
        (_token(b' ' * (2 << 20)), "chain link expands to too much data"),
        (_token(b'[{"op": "nope"}]'), "step 1: unknown operation 'nope'"),
        (_token(b"[]")[:-3], "chain link is damaged: it could not be decompressed"),
    ],
)
def test_url_garbage(token, message):
    with pytest.raises(ChainError) as info:
        chain.from_url(token)
    assert str(info.value).startswith(message)


def test_url_size_limit_on_encode():
    rng = np.random.default_rng(0)
    big = [{"op": "convolve", "params": {"kernel": rng.random((31, 31)).tolist()}}] * 2
    with pytest.raises(ChainError, match="too large for a link"):
        chain.to_url(big)
    with pytest.raises(ChainError, match="must be text"):
        chain.from_url(None)


def test_step_as_dict_is_a_copy():
    step = chain.validate([{"op": "convolve"}])[0]
    out = step.as_dict()
    out["params"]["kernel"][0][0] = 9.0
    assert step.params["kernel"][0][0] == 0.0
    assert out["enabled"] is True and out["op"] == "convolve"


def test_apply_runs_enabled_steps_in_order():
    image = np.random.default_rng(1).random((12, 10, 3), dtype=np.float32)
    steps = [
        {"op": "gaussian_blur", "params": {"sigma": 1.5, "mode": "wrap"}},
        {"op": "laplace", "enabled": False},
        {"op": "edges", "params": {"output": "x"}},
    ]
    expected = reference.edges(reference.gaussian_blur(image, 1.5, mode="wrap"), output="x")
    np.testing.assert_array_equal(chain.apply(image, steps), expected)
    np.testing.assert_array_equal(chain.apply(image, json.dumps(steps)), expected)
    same = chain.apply(image, [])
    np.testing.assert_array_equal(same, image)
    assert same is not image
    with pytest.raises(ChainError, match="unknown operation"):
        chain.apply(image, [{"op": "sharpen"}])


# -- structure: limits checked before parsing, never a RecursionError ---------------------

DEEP = [10_000, 100_000]
TOO_DEEP = "chain is nested too deeply: lists and objects may nest at most 8 levels"


def _nested_list(depth):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _deep_texts(depth):
    """Text nested `depth` deep: bare, inside a step's params, and as a kernel."""
    return {
        "bare": "[" * depth + "]" * depth,
        "params": '[{"op": "gaussian_blur", "params": {"sigma": ' + "[" * depth + "]" * depth + "}}]",
        "kernel": '[{"op": "convolve", "params": {"kernel": ' + "[" * depth + "]" * depth + "}}]",
        "unclosed": '[{"op": "box_blur", "params": {"size": ' + "{" * depth,
    }


@pytest.mark.parametrize("depth", DEEP)
def test_deep_json_text_is_refused_before_parsing(depth):
    for text in _deep_texts(depth).values():
        assert error(text).startswith(TOO_DEEP)
        assert error(text.encode()).startswith(TOO_DEEP)
        with pytest.raises(ChainError, match="nested too deeply"):
            chain.from_json(text)
        with pytest.raises(ChainError, match="nested too deeply"):
            chain.apply(np.zeros((2, 2), np.float32), text)


@pytest.mark.parametrize("depth", DEEP)
def test_deep_url_token_is_refused(depth):
    for text in _deep_texts(depth).values():
        with pytest.raises(ChainError) as info:
            chain.from_url(_token(text.encode()))
        assert str(info.value).startswith(TOO_DEEP)


@pytest.mark.parametrize("depth", DEEP)
def test_deep_python_values_are_refused(depth):
    deep = _nested_list(depth)
    values = [
        deep,
        [{"op": "gaussian_blur", "params": {"sigma": deep}}],
        [{"op": "convolve", "params": {"kernel": deep}}],
        [Step("convolve", {"kernel": deep})],
    ]
    for value in values:
        assert error(value).startswith(TOO_DEEP)
        for function in (chain.to_json, chain.to_url):
            with pytest.raises(ChainError, match="nested too deeply"):
                function(value)
    # A hand-made Step is copied without recursion (validation would refuse it).
    assert Step("convolve", {"kernel": [deep]}).as_dict()["params"]["kernel"] == [[deep[0]]]


def test_a_cycle_is_too_deep_not_endless():
    loop = []
    loop.append(loop)
    assert error([{"op": "convolve", "params": {"kernel": loop}}]).startswith(TOO_DEEP)


def test_nesting_just_inside_the_limit_gets_the_precise_message():
    kernel = [[[[[0.0]]]]]  # kernel cells nested to depth 8 in all
    assert error([{"op": "convolve", "params": {"kernel": kernel}}]) == (
        "step 1 (convolve): kernel row 1, column 1 must be a number, got a list"
    )
    assert error(json.dumps([{"op": "convolve", "params": {"kernel": kernel}}])) == (
        "step 1 (convolve): kernel row 1, column 1 must be a number, got a list"
    )
    assert error([{"op": "convolve", "params": {"kernel": [kernel]}}]).startswith(TOO_DEEP)


def test_brackets_inside_strings_do_not_count():
    name = "[" * 50 + '\\"{' * 20
    assert error('[{"op": "' + name + '"}]').startswith("step 1: unknown operation '[[[[")
    assert error('[{"op": "laplace"}, "' + "[" * 20).startswith(
        "chain is not valid JSON: unterminated string starting at line 1, column 21"
    )


def test_text_size_limit():
    assert chain.MAX_JSON_BYTES == 4_000_000
    padded = "[" + " " * chain.MAX_JSON_BYTES + "]"
    assert error(padded) == "chain is too large: 4.0 MB of text; the limit is 4 MB"
    assert error(padded.encode()) == "chain is too large: 4.0 MB of text; the limit is 4 MB"
    wide = '["' + "é" * (chain.MAX_JSON_BYTES // 2) + '"]'  # 2 bytes a character in UTF-8
    assert error(wide).startswith("chain is too large: 4.0 MB")


def test_the_largest_valid_chain_fits_the_text_limit():
    # 64 steps of 31×31 kernels whose values have the longest JSON form, indented.
    value = -1.2345678901234567e-300
    step = {"op": "convolve", "params": {"kernel": [[value] * 31] * 31, "mode": "constant",
                                         "cval": 0.30000000000000004}, "enabled": False}
    text = chain.to_json([step] * chain.MAX_STEPS, indent=2)
    assert 2_000_000 < len(text.encode()) < chain.MAX_JSON_BYTES
    assert chain.from_json(text) == chain.validate([step] * chain.MAX_STEPS)


def test_many_steps_are_counted_before_they_are_checked():
    assert error([None] * 100_000) == "chain has 100000 steps; the limit is 64"
    assert error("[" + "0," * 200_000 + "0]") == "chain has 200001 steps; the limit is 64"


@pytest.mark.parametrize(
    "literal, message",
    [
        ("1" + "0" * 5000, "sigma must be a finite number; the value given is too large"),
        ("-" + "9" * 400, "sigma must be a finite number; the value given is too large"),
        ("1e999", "sigma must be a finite number; the value given is too large"),
        ("-1e999", "sigma must be a finite number; the value given is too large"),
        ("Infinity", "sigma must be a finite number; infinity is not allowed"),
        ("NaN", "sigma must be a finite number; NaN is not allowed"),
        ("null", "sigma must be a number, got null (an empty value; JSON writes NaN and "
                 "infinity as null)"),
    ],
)
def test_numbers_in_json_get_plain_messages(literal, message):
    text = '[{"op": "gaussian_blur", "params": {"sigma": ' + literal + "}}]"
    got = error(text)
    assert got == f"step 1 (gaussian_blur): {message}"
    assert "sys.set_int_max_str_digits" not in got


def test_huge_integers_for_integer_parameters():
    text = '[{"op": "box_blur", "params": {"size": ' + "7" * 5000 + "}}]"
    assert error(text) == "step 1 (box_blur): size must be between 1 and 63, got a number above 1.8e308"
    text = '[{"op": "convolve", "params": {"kernel": [[' + "1" * 5000 + "]]}}]"
    assert error(text) == (
        "step 1 (convolve): kernel row 1, column 1 must be a finite number; the value given is "
        "too large"
    )


def _split_run_join(image, steps):
    """The reference chain step by step, each step a new image: the oracle for apply."""
    colour, alpha, was_2d = _tiles.split(image)
    for step in chain.validate(steps):
        if step.enabled:
            colour = _tiles.run(colour, catalog.OPS[step.op].stencil(step.params))
    return _tiles.join(colour, alpha, was_2d)


STEPS = [
    {"op": "gaussian_blur", "params": {"sigma": 1.5, "mode": "wrap"}},
    {"op": "laplace", "enabled": False},
    {"op": "edges", "params": {"output": "x"}},
    {"op": "box_blur", "params": {"size": 5, "mode": "constant", "cval": 0.25}},
]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("shape, dtype", [((13, 11, 4), np.float32), ((13, 11), np.float32),
                                          ((9, 12, 2), np.float64), ((9, 12, 3), np.uint8)])
def test_apply_in_place_equals_a_new_image_per_step(count, shape, dtype):
    image = (np.random.default_rng(count).random(shape) * (255 if dtype == np.uint8 else 1))
    image = image.astype(dtype)
    got = chain.apply(image, STEPS[:count])
    expected = _split_run_join(image, STEPS[:count])
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_apply_allocates_the_result_and_one_spare():
    image = np.random.default_rng(2).random((1024, 256, 4), dtype=np.float32)  # 4 MiB
    colour, out = image[:, :, :3].copy(), np.empty((1024, 256, 3), np.float32)
    # What one step needs beyond its input and output: the tile engine's bands and tiles.
    working = max(
        peak_bytes(_tiles.run, colour, catalog.OPS[step.op].stencil(step.params), out)
        for step in chain.validate(STEPS) if step.enabled
    )
    result, spare = image.nbytes, colour.nbytes
    assert peak_bytes(chain.apply, image, STEPS) <= result + spare + working + 65536
