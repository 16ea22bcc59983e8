"""msmgr/cli/limits: the connection-limit flags of the servers' command lines.

``msmgr serve`` and ``msproxy run`` take the same ``--max-connections`` and
``--max-per-address``; both raise the open-files limit at start and fit the total cap to
it (``msmgr.serving``), which are process-wide matters for a command line to decide.
"""

from __future__ import annotations

import argparse
import logging

from msmgr.serving import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_PER_ADDRESS,
    ConnectionLimits,
    fit_to_descriptors,
    raise_open_files_limit,
)

from .entry import count_arg

logger = logging.getLogger(__name__)


def add_limit_arguments(parser: argparse._ActionsContainer, what: str) -> None:
    """``--max-connections`` and ``--max-per-address`` on ``parser``; ``what`` names the
    connections counted (``"client connections"``)."""
    parser.add_argument(
        "--max-connections",
        type=count_arg,
        metavar="N",
        help=f"{what} open at once; more are closed at once (default: as many as the "
        f"open-files limit holds, at most {DEFAULT_MAX_CONNECTIONS}; 0: no cap)",
    )
    parser.add_argument(
        "--max-per-address",
        type=count_arg,
        default=DEFAULT_MAX_PER_ADDRESS,
        metavar="N",
        help=f"{what} open at once from one IP address "
        f"(default {DEFAULT_MAX_PER_ADDRESS}; 0: no cap)",
    )


def raise_descriptor_limit() -> None:
    """Raise the soft open-files limit to the hard one (said at INFO, ``-v``)."""
    raised = raise_open_files_limit()
    if raised is not None:
        logger.info("raised the open-files limit from %d to %d (the hard limit)", *raised)


def limits_from_args(
    args: argparse.Namespace, *, per_connection: int, reserve: int
) -> ConnectionLimits:
    """The caps ``args`` ask for, the total fitted to the open-files limit (each
    connection taking ``per_connection`` descriptors, ``reserve`` kept aside): with a
    warning when ``--max-connections`` was given, quietly for the default."""
    asked = args.max_connections is not None
    limits = ConnectionLimits(
        total=args.max_connections if asked else DEFAULT_MAX_CONNECTIONS,
        per_address=args.max_per_address,
    )
    return fit_to_descriptors(limits, per_connection=per_connection, reserve=reserve, asked=asked)
