"""msproxy: a man-in-the-middle proxy and traffic inspector for MSNP, on trio."""

from __future__ import annotations

__version__ = "0.1.0"
