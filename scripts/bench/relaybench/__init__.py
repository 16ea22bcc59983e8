"""The parts of the relay benchmark, whose entry point is ``scripts/bench/relay.py``.

``workload`` makes the command mixes, ``upstream`` and ``byterelays`` are the servers and
baseline relays its helper processes run, ``load`` the load client, ``launch`` starts and
stops every process (helpers, ``msproxy run`` of a source tree, ``mitmdump``), ``procinfo``
reads their CPU time and memory from /proc, ``rounds`` drives the measurements and
``report`` prints them.
"""
