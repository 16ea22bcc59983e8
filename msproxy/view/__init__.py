"""msproxy.view: how commands, payloads and connections are written for people.

Shared by the live console (``msproxy.proxy``) and the capture tools (``msproxy.inspect``),
below both.
"""
