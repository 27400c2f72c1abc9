"""Build of the vecstore extension (vecstore._vecstore, abi3 for CPython
3.11+). The C library is built first with the project's Makefile (`make
lib`, without poppler so the wheel carries no PDF stack) from the source
tree: ../ in the repository, csrc/ in the sdist. VECSTORE_BUILD names a
build directory that already has libvecstore.a (built with the same
HAVE_POPPLER=) to skip that step. The extension sees only lib/vecstore.h
and links libvecstore.a with its symbols hidden; its dependencies (jansson,
zstd, curl, openblas, ...) are shared libraries that auditwheel copies
into the wheel (python/build.sh)."""

import os
import shlex
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def c_tree() -> str:
    for d in (os.path.join(HERE, "csrc"), os.path.dirname(HERE)):
        if os.path.isfile(os.path.join(d, "lib", "vecstore.h")) and os.path.isfile(
                os.path.join(d, "Makefile")):
            return d
    raise SystemExit("setup.py: no C source tree (csrc/ or ../ with lib/vecstore.h)")


class BuildWithLib(build_ext):
    def run(self) -> None:
        src = c_tree()
        make = ["make", "--no-print-directory", "-C", src, "HAVE_POPPLER="]
        out = os.environ.get("VECSTORE_BUILD")
        if out:
            out = os.path.abspath(out)
        else:
            out = os.path.abspath(os.path.join(self.build_temp, "libvecstore"))
            jobs = os.environ.get("VECSTORE_JOBS", "2")
            subprocess.run(make + [f"-j{jobs}", f"BUILD={out}", f"{out}/libvecstore.a"],
                           check=True)
        libs = subprocess.run(make + ["-s", "print-libs"], check=True, text=True,
                              capture_output=True).stdout
        for ext in self.extensions:
            ext.include_dirs = [os.path.join(src, "lib")]
            ext.extra_objects = [os.path.join(out, "libvecstore.a")]
            ext.extra_link_args = shlex.split(libs) + ["-Wl,--exclude-libs,ALL"]
        super().run()


setup(
    ext_modules=[
        Extension(
            "vecstore._vecstore",
            ["vecstore/_vecstore.c", "vecstore/_vecstore_db.c", "vecstore/_vecstore_hit.c"],
            depends=["vecstore/_vecstore_internal.h"],
            define_macros=[("Py_LIMITED_API", "0x030B0000")],
            extra_compile_args=["-std=c11", "-D_GNU_SOURCE", "-fopenmp"],
            py_limited_api=True,
        )
    ],
    cmdclass={"build_ext": BuildWithLib},
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
