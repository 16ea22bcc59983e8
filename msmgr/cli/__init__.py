"""The msmgr sub-commands, one module each (see msmgr/__main__.py)."""
