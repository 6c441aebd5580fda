"""The Python example in README.md runs and computes what it says."""

import os
import re

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_python_example_runs():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README.md has no Python example"
    scope = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    gg = scope["gg"]
    galloc, x, y = scope["galloc"], scope["x"], scope["y"]
    # w is the identity, so y = gelu(x) + x
    xv = x.numpy()
    ref = 0.5 * xv * (1 + np.tanh(0.7978845608028654 * (xv + 0.044715 * xv ** 3))) + xv
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-6)
    assert galloc.lower_bound() <= galloc.buffer_size()
    assert isinstance(gg.GgallocError, type)
