"""What a kernel cell accepts (app/ui/cells.js), run under Node: numbers, fractions and simple
expressions give the same float as Python's arithmetic, and everything else a reason."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")

ACCEPTED = {
    "1/9": 1 / 9, "-2/16": -2 / 16, "0.5*3": 0.5 * 3, "(1+2)/3": 1.0, "--1": 1.0, "+4": 4.0,
    "1e-3": 1e-3, "2.5E+2": 250.0, ".5": 0.5, "5.": 5.0, " 3 ": 3.0, "−1÷4": -0.25, "2×3": 6.0,
    "1 - 2 - 3": -4.0, "8/4/2": 1.0, "2+3*4": 14.0, "(2+3)*4": 20.0, "-(1/3)": -(1 / 3),
    "-0": 0.0, "1/3+1/3+1/3": 1 / 3 + 1 / 3 + 1 / 3, "1e6": 1e6,
}
REFUSED = {
    "": "empty: type a number, a fraction such as 1/9, or 0",
    "1/0": "division by zero",
    "1/(2-2)": "division by zero",
    "2**3": "“*” where a number should be",
    "nan": "“n” is not a number or one of + − × ÷ ( )",
    "1,5": "“,” is not a number or one of + − × ÷ ( )",
    "(1": "a “(” is not closed",
    "1)": "a “)” has no “(”",
    "1 2": "“2” does not follow on",
    "3-": "incomplete: it ends where a number should follow",
    "1e999": "too large: not a finite number",
    "(" * 40 + "1" + ")" * 40: "too deeply nested",
    "1" * 201: "longer than 200 characters",
}

SCRIPT = """
import { evaluateCell } from "./app/ui/cells.js";
const texts = JSON.parse(process.argv[1]);
console.log(JSON.stringify(texts.map((t) => evaluateCell(t))));
"""


def evaluate(texts):
    if NODE is None:
        pytest.fail("node is not installed: make test installs the project's Node dependencies and needs node")
    done = subprocess.run([NODE, "--input-type=module", "-e", SCRIPT, json.dumps(texts)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_accepted_cells_give_pythons_float():
    results = evaluate(list(ACCEPTED))
    for (text, expected), result in zip(ACCEPTED.items(), results, strict=True):
        assert result == {"value": expected}, text


def test_refused_cells_say_why():
    results = evaluate(list(REFUSED))
    for (text, reason), result in zip(REFUSED.items(), results, strict=True):
        assert result == {"error": reason}, text
