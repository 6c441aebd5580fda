"""The command's entry points: the console script declared in pyproject.toml, and
``python3 -m ggalloc`` with --help, plan --help and demo."""

import importlib
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ggalloc_cmd(*args, timeout=300):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "ggalloc", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def test_console_script_is_declared_and_resolves():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        meta = tomllib.load(f)
    target = meta["project"]["scripts"]["ggalloc"]
    module, func = target.split(":")
    fn = getattr(importlib.import_module(module), func)
    from ggalloc.__main__ import main
    assert fn is main
    # The script calls fn() with no arguments and exits with what it returns.
    with pytest.raises(SystemExit) as e:
        fn(["--help"])
    assert e.value.code == 0


def test_help():
    p = ggalloc_cmd("--help")
    assert p.returncode == 0, p.stderr
    assert "plan" in p.stdout and "demo" in p.stdout
    p = ggalloc_cmd("plan", "--help")
    assert p.returncode == 0, p.stderr
    for opt in ("--planner", "--max-size", "--alignment", "--plot", "--json", "--reorder", "--tokens"):
        assert opt in p.stdout
    p = ggalloc_cmd("demo", "--help")
    assert p.returncode == 0 and "--tokens" in p.stdout
    p = ggalloc_cmd()
    assert p.returncode == 2 and "COMMAND" in p.stderr


def test_demo_runs_small(tmp_path):
    png = tmp_path / "plan.png"
    p = ggalloc_cmd("demo", "--tokens", "6", "--layers", "1", "--threads", "2", "--plot", str(png))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "PASS: logits match numpy" in p.stdout
    assert png.exists() and png.stat().st_size > 10000


def test_make_demo_builds_only_the_extension_and_names_the_interpreter():
    """`make demo` needs the Python extension only: no CMake build of the tests and
    benchmarks, no make chatter; and make says which Python it uses."""
    import shutil
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    p = subprocess.run(["make", "-n", "demo"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "cmake" not in p.stdout and "Entering directory" not in p.stdout
    assert "Python: /usr/bin/python3" in p.stdout
    assert "-m ggalloc demo" in p.stdout
