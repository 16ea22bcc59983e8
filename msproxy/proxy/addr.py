"""msproxy/proxy/addr: ``host:port`` text as MSNP writes it, to and from (host, port)."""

from __future__ import annotations

MSNP_PORT = 1863
"""The port MSNP servers listen on; assumed when an address names none."""


def parse_address(
    text: str, default_port: int = MSNP_PORT, *, allow_zero: bool = False
) -> tuple[str, int]:
    """``"10.0.0.5:1863"``, ``"[::1]:1863"``, ``"host"`` -> (host, port).

    ``allow_zero``: accept port 0 (a listener's "any free port").

    Raises:
        ValueError: the port is not a number in 1..65535 (0..65535 with ``allow_zero``)
            or the host is empty.
    """
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"unterminated '[' in address {text!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after the host in {text!r}")
        port_text = rest[1:] if rest else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:  # no port, or a bare IPv6 address without brackets
        host, port_text = text, ""
    if not host:
        raise ValueError(f"no host in address {text!r}")
    if not port_text:
        return host, default_port
    lowest = 0 if allow_zero else 1
    if not (port_text.isascii() and port_text.isdigit()) or not lowest <= int(port_text) < 65536:
        raise ValueError(f"bad port {port_text!r} in address {text!r}")
    return host, int(port_text)


def format_address(host: str, port: int) -> str:
    """(host, port) -> ``"host:port"``, with IPv6 hosts in brackets; IPv4-mapped IPv6 as IPv4."""
    if host.startswith("::ffff:") and host.count(".") == 3:
        host = host[7:]
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"
