"""Build script for the optional C accelerators; all other metadata is in pyproject.toml.

``msmgr.codec._cframe`` makes the Framer's Command objects for runs of ordinary commands,
``msproxy.capture._scan`` frames such runs and writes their capture records, at C speed.
Both are optional: where they cannot be compiled (no C compiler), the install still
succeeds and the pure-Python paths are used, which give the same results.
"""

from __future__ import annotations

from setuptools import Extension, setup

# Both share the framing of one ordinary command (msmgr/codec/_frame.h).
FRAME_H = "msmgr/codec/_frame.h"

setup(
    ext_modules=[
        Extension(
            "msmgr.codec._cframe",
            ["msmgr/codec/_cframe.c"],
            include_dirs=["msmgr/codec"],
            depends=[FRAME_H],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "msproxy.capture._scan",
            ["msproxy/capture/_scan.c"],
            include_dirs=["msmgr/codec"],
            depends=[FRAME_H],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
