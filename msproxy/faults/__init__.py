"""msproxy.faults: command-level fault injection for the proxy (``msproxy run --fault``).

``parse_rule("action=drop,cmd=NLN,role=NS,nth=3")`` makes a ``FaultRule`` (or raises
``FaultRuleError`` naming the key); a tuple of rules in ``ProxyConfig(faults=...)``
makes ``serve_proxy`` apply them to every connection. ``FaultInjector`` is the sans-IO
core the proxy runs per connection: bytes in, steps (``Write``, ``Wait``, ``Applied``,
``Close``) out.
"""

from __future__ import annotations

from .injector import FaultInjector
from .rules import Action, FaultRule, FaultRuleError, parse_rule
from .steps import Applied, Close, Step, Wait, Write

__all__ = [
    "Action",
    "Applied",
    "Close",
    "FaultInjector",
    "FaultRule",
    "FaultRuleError",
    "Step",
    "Wait",
    "Write",
    "parse_rule",
]
