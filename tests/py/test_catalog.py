import json

import numpy as np
import pytest
from filterlab import borders, catalog, chain, kernels, reference

OPS = list(catalog.OPS)


@pytest.mark.parametrize("name", OPS)
def test_every_operation_ends_with_the_border_parameters(name):
    op = catalog.OPS[name]
    assert op.name == name
    assert [p.name for p in op.params][-2:] == ["mode", "cval"]
    mode, cval = op.param("mode"), op.param("cval")
    assert (mode.kind, mode.default, mode.choices) == ("choice", "reflect", borders.MODES)
    assert (cval.kind, cval.default, cval.min, cval.max, cval.step) == ("float", 0.0, 0.0, 1.0,
                                                                       0.01)


@pytest.mark.parametrize("name", OPS)
def test_examples_are_valid_and_distinct(name):
    op = catalog.OPS[name]
    assert op.examples
    seen = []
    for example in op.examples:
        assert example and set(example) <= {p.name for p in op.params}
        params = chain.validate([{"op": name, "params": example}])[0].params
        assert params not in seen
        seen.append(params)


def test_parameter_details():
    sigma = catalog.OPS["gaussian_blur"].param("sigma")
    assert (sigma.kind, sigma.min, sigma.max, sigma.step, sigma.default, sigma.unit) == (
        "float", 0.1, 16.0, 0.1, 2.0, "px")
    truncate = catalog.OPS["gaussian_blur"].param("truncate")
    assert (truncate.min, truncate.max, truncate.step, truncate.default, truncate.unit) == (
        1.0, 6.0, 0.5, 4.0, "σ")
    size = catalog.OPS["box_blur"].param("size")
    assert (size.kind, size.min, size.max, size.step, size.default, size.unit) == (
        "int", 1, 63, 2, 3, "px")
    unsharp = catalog.OPS["unsharp_mask"]
    assert unsharp.param("sigma").default == 1.0
    amount = unsharp.param("amount")
    assert (amount.min, amount.max, amount.step, amount.default) == (0.0, 5.0, 0.05, 1.0)
    assert catalog.OPS["edges"].param("operator").choices == ("sobel", "scharr", "prewitt")
    assert catalog.OPS["edges"].param("output").choices == ("magnitude", "x", "y")
    assert catalog.OPS["laplace"].param("neighbours").choices == (4, 8)
    kernel = catalog.OPS["convolve"].param("kernel")
    assert kernel.kind == "kernel" and kernel.default == kernels.identity(3).tolist()


@pytest.mark.parametrize("name", OPS)
def test_defaults_validate_and_run(name):
    op = catalog.OPS[name]
    step = chain.validate([{"op": name}])[0]
    assert step.params == op.defaults()
    for param in op.params:
        if param.kind in ("float", "int"):
            assert param.min <= param.default <= param.max
        if param.kind == "choice":
            assert param.default in param.choices
    image = np.random.default_rng(0).random((6, 5, 4), dtype=np.float32)
    out = op.reference(image, **step.params)
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :, 3], image[:, :, 3])


def test_defaults_are_fresh_copies():
    first = catalog.OPS["convolve"].defaults()
    first["kernel"][1][1] = 5.0
    assert catalog.OPS["convolve"].defaults()["kernel"][1][1] == 1.0


def test_presets():
    assert list(catalog.KERNEL_PRESETS) == [
        "identity", "box_blur", "sharpen", "edge", "emboss", "sobel_x", "sobel_y"]
    for preset in catalog.KERNEL_PRESETS.values():
        kernels.validate(preset)
    assert catalog.KERNEL_PRESETS["edge"] == [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    assert catalog.KERNEL_PRESETS["sharpen"] == [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    assert catalog.KERNEL_PRESETS["sobel_x"] == kernels.SOBEL_X.tolist()


def test_describe_is_json_ready_and_complete():
    described = catalog.describe()
    text = json.dumps(described, allow_nan=False)
    assert json.loads(text) == described
    assert [op["name"] for op in described] == OPS
    for entry in described:
        op = catalog.OPS[entry["name"]]
        assert entry["label"] == op.label and entry["summary"] == op.summary
        assert entry["examples"] == [chain.Step(op.name, e).as_dict()["params"] for e in op.examples]
        for described_param, param in zip(entry["params"], op.params, strict=True):
            for field in ("name", "kind", "label", "min", "max", "step", "unit", "help"):
                assert described_param[field] == getattr(param, field)
            assert described_param["choices"] == list(param.choices)
    kernel = described[0]["params"][0]
    assert kernel["presets"] == catalog.KERNEL_PRESETS
    assert kernel["sizes"] == list(range(1, kernels.MAX_SIZE + 1, 2))
    assert kernel["limit"] == kernels.MAX_VALUE
    for name, preset in catalog.KERNEL_PRESETS.items():
        assert kernel["cells"][name] == [[kernels.value_text(v) for v in row] for row in preset]
    assert kernel["cells"]["box_blur"] == [["1/9"] * 3] * 3


@pytest.mark.parametrize("name", OPS)
def test_the_border_value_applies_only_to_the_constant_border(name):
    op = catalog.OPS[name]
    cval = op.param("cval")
    assert [mode for mode in borders.MODES if cval.applies({"mode": mode})] == ["constant"]
    assert next(p for p in op.describe()["params"] if p["name"] == "cval")["when"] == {
        "mode": ["constant"]}
    for param in op.params:
        if param.name != "cval":
            assert param.when == () and param.applies({})


def test_convolve_divides_by_the_divisor_and_adds_the_offset():
    image = np.random.default_rng(1).random((7, 6, 3), dtype=np.float32)
    kernel = [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    plain = reference.convolve(image, np.array(kernel) / 16)
    out = reference.convolve(image, kernel, divisor=16.0, offset=0.25)
    np.testing.assert_allclose(out, plain + 0.25, atol=1e-6)
    divisor = catalog.OPS["convolve"].param("divisor")
    assert (divisor.default, divisor.slider, divisor.min, divisor.max) == (
        1.0, False, -kernels.MAX_VALUE, kernels.MAX_VALUE)


@pytest.mark.parametrize("params, message", [
    ({"divisor": 0}, "step 1 (convolve): divisor must not be 0"),
    ({"kernel": [[1e6]], "divisor": 0.5},
     "step 1 (convolve): kernel ÷ divisor must stay within ±1,000,000; dividing by 0.5 makes 2e+06"),
])
def test_the_divisor_is_checked_with_the_kernel(params, message):
    with pytest.raises(chain.ChainError) as error:
        chain.validate([{"op": "convolve", "params": params}])
    assert str(error.value) == message


def test_references_are_the_reference_module():
    assert catalog.OPS["convolve"].reference is reference.convolve
    assert catalog.OPS["laplace"].reference is reference.laplace


def test_param_kind_checked():
    with pytest.raises(ValueError, match="unknown parameter kind"):
        catalog.Param("x", "bool", "X", False)
