"""The msproxy sub-commands, one module each (see msproxy/__main__.py)."""
