import base64
import json
import zlib

import numpy as np
import pytest
from filterlab import catalog, chain, reference
from filterlab.chain import ChainError, Step

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
         "step 1 (gaussian_blur): sigma must be a number, got null"),
        ([{"op": "gaussian_blur", "params": {"sigma": float("nan")}}],
         "step 1 (gaussian_blur): sigma must be a finite number, got nan"),
        ([{"op": "unsharp_mask", "params": {"amount": float("inf")}}],
         "step 1 (unsharp_mask): amount must be a finite number, got inf"),
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
         "step 1 (convolve): kernel contains NaN or infinity"),
        ([{"op": "convolve", "params": {"kernel": [[True]]}}],
         "step 1 (convolve): kernel values must be real numbers, got True"),
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
    assert error("[{").startswith("chain is not valid JSON: ")
    assert error('[{"op": "gaussian_blur", "params": {"sigma": NaN}}]') == (
        "step 1 (gaussian_blur): sigma must be a finite number, got nan"
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
