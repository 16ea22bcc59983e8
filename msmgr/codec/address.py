"""msmgr/codec/address: ``host:port`` fields as MSNP writes them (XFR, RNG) <-> (host, port).

IPv4, host names and IPv6 (``[::1]:1863``; a bare ``::1`` has no port). One parser for
the client, the server, the proxy and the command lines.
"""

from __future__ import annotations

from .versions import MSNP_PORT as MSNP_PORT  # assumed when an address names none (the old home)


def parse_address(
    text: str, default_port: int | None = MSNP_PORT, *, allow_zero: bool = False
) -> tuple[str, int]:
    """``"10.0.0.5:1863"``, ``"[::1]:1863"``, ``"host"`` -> (host, port).

    Args:
        text: the address.
        default_port: the port when ``text`` names none; None: a port is required.
        allow_zero: accept port 0 (a listener's "any free port").

    Raises:
        ValueError: no host, a missing port (``default_port=None``), or a port that is
            not a number in 1..65535 (0..65535 with ``allow_zero``).
    """
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"unterminated '[' in address {text!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after the host in {text!r}")
        has_port, port_text = bool(rest), rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        has_port = True
    else:  # no port, or a bare IPv6 address without brackets
        host, port_text, has_port = text, "", False
    if not host:
        raise ValueError(f"no host in address {text!r}")
    if not has_port:
        if default_port is None:
            raise ValueError(f"no port in address {text!r} (HOST:PORT)")
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
