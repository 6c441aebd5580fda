"""Builds the ggalloc package and its cffi extension (``ggalloc._ggalloc``) from csrc/.

    python3 setup.py build_ext --inplace     # what `make python` runs
    pip install .                             # or: pip install --no-build-isolation -e .

Metadata lives in pyproject.toml. The extension is described by ggalloc/_build.py; the
build_ext below lets it compile the ISA-specific kernels with their own flags and generate the
Vulkan shaders before the extension is linked.
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_builder():
    sys.path.insert(0, os.path.join(HERE, "ggalloc"))
    try:
        import _build  # noqa: E402  (ggalloc/_build.py, loaded without importing the package)
    finally:
        sys.path.pop(0)
    return _build


class GgallocBuildExt(build_ext):
    """build_ext that completes the cffi extension with per-file ISA objects and shaders."""

    def initialize_options(self):
        super().initialize_options()
        # temporaries go under build-py/ (gitignored) unless --build-temp says otherwise
        self.build_temp = os.path.join("build-py", "temp")

    def build_extension(self, ext):
        if ext.name == "ggalloc._ggalloc":
            builder = _load_builder()
            if not self.force and builder.up_to_date(self.get_ext_fullpath(ext.name)):
                print(f"{ext.name} is up to date")
                return
            builder.prepare(ext, self.compiler, self.build_temp)
        super().build_extension(ext)


os.chdir(HERE)
setup(
    packages=["ggalloc"],
    package_data={"ggalloc": ["py.typed"]},
    include_package_data=False,
    cmdclass={"build_ext": GgallocBuildExt},
    cffi_modules=["ggalloc/_build.py:ffibuilder"],
)
