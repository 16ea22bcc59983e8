"""msproxy.view: how commands, payloads and connections are written for people, and the
filter language that picks what is shown (``filterlang``).

Shared by the live console (``msproxy.proxy``), the capture tools (``msproxy.inspect``)
and the web view, below them all.
"""
