"""msmgr/client/address: ``host:port`` fields of XFR and RNG (IPv4, IPv6, host names)."""

from __future__ import annotations

DEFAULT_PORT = 1863


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``"10.0.0.5:1863"``, ``"ns.example.com:1864"``, ``"[::1]:1863"``, ``"::1"`` -> (host, port).

    Raises:
        ValueError: empty, or a port that is not a number in 1..65535.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty server address")
    has_port = False
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"bad server address {text!r}: no closing bracket")
        if rest and not rest.startswith(":"):
            raise ValueError(f"bad server address {text!r}")
        has_port, port_text = bool(rest), rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        has_port = True
    else:  # a host name, an IPv4 address, or a bare IPv6 address: no port
        host, port_text = text, ""
    if not host:
        raise ValueError(f"bad server address {text!r}: no host")
    if not has_port:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad server address {text!r}: port must be 1-65535")
    return host, int(port_text)


def format_address(host: str, port: int) -> str:
    """(host, port) -> ``host:port`` (``[v6]:port`` for IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
