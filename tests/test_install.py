"""The README's install steps, verbatim: a venv made from Debian's interpreter with the system
site packages, `pip install --no-build-isolation .` (nothing downloaded), and the `ggalloc`
command it installs."""

import os
import shutil
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pip_install_into_a_venv_gives_the_ggalloc_command(tmp_path):
    src = tmp_path / "src"
    # a clean copy of the sources, so the build leaves nothing in the checkout
    ignore = shutil.ignore_patterns("build*", ".git", "*.so", "__pycache__", ".pytest_cache", ".hypothesis",
                                    "notebooks", "bench", "tests")
    shutil.copytree(ROOT, src, ignore=ignore)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PIP_NO_INDEX"] = "1"          # nothing may come from a package index
    p = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-build-isolation", str(src)],
                       env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    cmd = venv / "bin" / "ggalloc"
    assert cmd.exists()
    q = subprocess.run([str(cmd), "plan", "mlp", "--layers", "2", "--batch", "8", "--json"], env=env,
                       capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert q.returncode == 0, q.stderr
    assert '"violations": 0' in q.stdout
    r = subprocess.run([str(venv / "bin" / "python"), "-c", "import ggalloc; print(ggalloc.__file__)"], env=env,
                       capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert r.returncode == 0 and str(venv) in r.stdout, r.stderr
