"""The package's type annotations are consistent (mypy over ggalloc/, as py.typed promises)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mypy_finds_no_type_errors():
    r = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-error-summary",
                        "--cache-dir", os.path.join(ROOT, "build-py", "mypy-cache"), "ggalloc"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
