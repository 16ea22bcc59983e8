"""How the relay benchmark prints its figures: each relay's best round, and ratios
between two relays."""

from __future__ import annotations

Result = dict[str, float]


def best(results: list[Result]) -> Result:
    """Per metric, the best round: highest rates, lowest times."""
    return {
        key: (max if key.endswith(("commands/s", "MB/s")) else min)(r[key] for r in results)
        for key in results[0]
    }


def show(name: str, result: Result) -> None:
    """One line: a relay's name and every figure of its best round."""
    print(
        f"{name:>9}: " + ", ".join(f"{k} {v:,.{2 if v < 10 else 1}f}" for k, v in result.items()),
        flush=True,
    )


def ratios(title: str, mine: Result, base: Result) -> None:
    """One line: ``mine / base`` for every figure."""
    print(
        f"ratios {title}: "
        + ", ".join(
            f"{k} {mine[k] / base[k]:.2f}x" if base[k] else f"{k} n/a (too short to measure)"
            for k in base
        ),
        flush=True,
    )


def added_latency(mine: Result, base: Result) -> None:
    """One line: the median round trip ``mine`` adds to ``base``'s."""
    added = mine["rtt median us"] - base["rtt median us"]
    p99 = mine["rtt p99 us"] / base["rtt p99 us"]
    print(
        f"added latency per command (median): {added:.1f} us; p99 {p99:.2f}x the plain relay's",
        flush=True,
    )
