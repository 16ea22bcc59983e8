"""Build script for the optional C accelerator; all other metadata is in pyproject.toml.

``msproxy.capture._scan`` makes capture records for runs of ordinary commands at C
speed. It is optional: where it cannot be compiled (no C compiler), the install still
succeeds and msproxy uses the pure-Python path, which gives the same bytes.
"""

from __future__ import annotations

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "msproxy.capture._scan",
            ["msproxy/capture/_scan.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
