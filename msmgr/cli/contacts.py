"""``msmgr contacts``: log in, synchronise the contact lists, print them as a table.

Columns: handle, friendly name, lists (FL forward, AL allow, BL block, RL reverse) and
groups. ``--list FL`` shows only the contacts on one list.
"""

from __future__ import annotations

import argparse

from tabulate import tabulate

from msmgr.client import Session
from msmgr.client.lists import LIST_NAMES

from .client_options import add_login_options, make_session, run_client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``contacts`` sub-command."""
    parser = subparsers.add_parser(
        "contacts",
        help="print the contact lists",
        description="Log in and print the account's contact lists (FL, AL, BL, RL).",
    )
    add_login_options(parser)
    parser.add_argument("--list", choices=LIST_NAMES, help="only the contacts on this list")
    parser.add_argument("--format", default="simple", help="tabulate table format")
    parser.set_defaults(run=run)


def contacts_table(session: Session, only: str | None = None, fmt: str = "simple") -> str:
    """The contacts of ``session`` as a tabulate table."""
    groups = session.contact_lists.groups
    rows = []
    for email, contact in sorted(session.contacts.items()):
        if only is not None and only not in contact.lists:
            continue
        lists = " ".join(name for name in LIST_NAMES if name in contact.lists)
        group_names = ", ".join(groups.get(g, g) for g in contact.groups)
        rows.append((email, contact.name, lists, group_names))
    return tabulate(rows, headers=("handle", "name", "lists", "groups"), tablefmt=fmt)


async def main(args: argparse.Namespace) -> int:
    """Print the lists of ``args.user``."""
    async with make_session(args) as session:
        await session.login()
        await session.sync()
        print(contacts_table(session, args.list, args.format))
    return 0


def run(args: argparse.Namespace) -> int:
    return run_client("contacts", main, args)
