"""msproxy/view/filterlang: the filter language of every view, in MSNP's own words.

One expression selects what ``msproxy show``, ``summary`` and the live console of
``msproxy run`` print (and the web view's filter box)::

    not cmd PNG,QNG,CHL,QRY
    role SB and handle alice@example.com and payload ~ "text/plain"
    (error or redirect) and not conn 1

Tests: ``cmd VERB[,VERB]``, ``dir c2s|s2c``, ``role DS|NS|SB[,...]``, ``conn N[,N]`` (an
id, or a name as shown: ``SB#5``), ``handle ACCOUNT`` (every connection of that account's
session), ``trid N``, ``error`` (numeric replies, error records, unparsed bytes),
``redirect`` (``XFR``/``RNG`` and their rewrites), ``open``, ``close``, ``payload ~
REGEX``, ``line ~ REGEX``, ``len OP N`` (``OP``: ``<``, ``<=``, ``>``, ``>=``, ``=``,
``!=``; the command's size in bytes). Joined by ``and``, ``or``, ``not`` and
parentheses; ``not`` binds tightest, then ``and``, then ``or``. Keywords and verbs are
case-insensitive, regular expressions are not. A regex is a word or quoted with ``"`` or
``'``; inside quotes only ``\\"`` (``\\'``) is an escape, every other backslash is the
regex's own.

Strategy: a hand-written tokenizer and recursive-descent parser (the grammar is a dozen
rules) that builds a tree of small predicate objects; every error names the column where
it went wrong, in the language's own words (``'dir' takes c2s or s2c``). Not lark or
pyparsing: their errors for a grammar this small (an unexpected token, the terminals
expected) would each have to be translated into such words anyway, which is most of
what this parser is, and neither would then be left doing much for its dependency.

The compiled ``Filter`` keeps a ``Sessions`` (connections' roles, parents
and accounts) as subjects go by, so feed it every record in order, including those it
rejects.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from msmgr.codec.command import is_verb

from .names import parse_conn
from .subject import Sessions, Subject, subject_of

DIRECTIONS = ("c2s", "s2c")
ROLES = ("DS", "NS", "SB")
REDIRECT_VERBS = frozenset({"XFR", "RNG"})
_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}
_TOKEN = re.compile(
    r"""\s*(?:(?P<paren>[()])|(?P<op>==|!=|>=|<=|[=<>~])|(?P<quoted>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<open_quote>["'])|(?P<word>[^\s()"'=<>!~]+)|(?P<bad>\S))""",
    re.VERBOSE,
)

Check = Callable[[Subject, Sessions], bool]


class FilterError(ValueError):
    """A filter expression that does not parse: the message and the column (from 1)."""

    def __init__(self, message: str, text: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.column = column

    def __str__(self) -> str:
        return f"{self.message} (column {self.column})\n  {self.text}\n  {' ' * (self.column - 1)}^"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # paren, op, quoted, word, end
    value: str
    column: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    position = 0
    while True:
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:  # only blanks are left
            out.append(_Token("end", "", len(text.rstrip()) + 1))
            return out
        kind = match.lastgroup
        column = match.start(kind) + 1
        value = match.group(kind)
        if kind == "open_quote":
            raise FilterError("this quote is never closed", text, column)
        if kind == "bad":
            raise FilterError(f"unexpected {value!r}", text, column)
        if kind == "quoted":
            quote = value[0]
            value = value[1:-1].replace("\\" + quote, quote)
        out.append(_Token(kind, value, column))
        position = match.end()


class _Parser:
    """Recursive descent over the tokens: ``or`` of ``and`` of ``not`` of atoms."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def error(self, message: str, token: _Token | None = None) -> FilterError:
        return FilterError(message, self.text, (token or self.peek()).column)

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.value.lower() in words:
            self.index += 1
            return True
        return False

    def parse(self) -> Check:
        if self.peek().kind == "end":
            raise self.error("empty filter: expected a test such as 'cmd MSG'")
        check = self.either()
        token = self.peek()
        if token.kind != "end":
            raise self.error(f"expected 'and', 'or' or the end, not {token.value!r}")
        return check

    def either(self) -> Check:
        checks = [self.both()]
        while self.keyword("or"):
            checks.append(self.both())
        return checks[0] if len(checks) == 1 else _Any(tuple(checks))

    def both(self) -> Check:
        checks = [self.negation()]
        while self.keyword("and"):
            checks.append(self.negation())
        return checks[0] if len(checks) == 1 else _All(tuple(checks))

    def negation(self) -> Check:
        if self.keyword("not"):
            return _Not(self.negation())
        return self.atom()

    def atom(self) -> Check:
        token = self.take()
        if token.kind == "paren" and token.value == "(":
            check = self.either()
            closing = self.peek()
            if closing.kind != "paren" or closing.value != ")":
                raise self.error(f"expected ')' to close the '(' of column {token.column}")
            self.index += 1
            return check
        if token.kind != "word":
            what = "the end" if token.kind == "end" else repr(token.value)
            raise self.error(f"expected a test such as 'cmd MSG', not {what}", token)
        name = token.value.lower()
        if name in ("and", "or"):
            raise self.error(f"expected a test such as 'cmd MSG' before {token.value!r}", token)
        build = _TESTS.get(name)
        if build is None:
            raise self.error(f"unknown test {token.value!r} (tests: {', '.join(_TESTS)})", token)
        return build(self, name)

    def argument(self, name: str, what: str) -> _Token:
        token = self.peek()
        if token.kind not in ("word", "quoted"):
            raise self.error(f"'{name}' needs {what}")
        self.index += 1
        return token

    def items(self, name: str, what: str) -> tuple[_Token, list[str]]:
        token = self.argument(name, what)
        values = [item for item in token.value.split(",") if item]
        if not values:
            raise self.error(f"'{name}' needs {what}", token)
        return token, values

    def regex(self, name: str) -> re.Pattern[str]:
        operator = self.peek()
        if operator.kind != "op" or operator.value != "~":
            raise self.error(f"expected '~' after '{name}' ({name} ~ \"regex\")")
        self.index += 1
        token = self.argument(name, "a regular expression after '~'")
        try:
            return re.compile(token.value)
        except re.error as exc:
            raise self.error(f"invalid regular expression: {exc}", token) from None

    def number(self, name: str, token: _Token) -> int:
        if not token.value.isdigit():
            raise self.error(f"'{name}' needs a number, not {token.value!r}", token)
        return int(token.value)


def _cmd(parser: _Parser, name: str) -> Check:
    token, verbs = parser.items(name, "verbs (cmd MSG or cmd MSG,NLN)")
    for verb in verbs:
        if not is_verb(verb.upper()):
            raise parser.error(f"{verb!r} is not an MSNP verb (three letters or digits)", token)
    return _Verbs(frozenset(verb.upper() for verb in verbs))


def _dir(parser: _Parser, name: str) -> Check:
    token = parser.argument(name, "c2s or s2c")
    if token.value.lower() not in DIRECTIONS:
        raise parser.error(f"'dir' takes c2s or s2c, not {token.value!r}", token)
    return _Direction(token.value.lower())


def _role(parser: _Parser, name: str) -> Check:
    token, roles = parser.items(name, "DS, NS or SB")
    upper = frozenset(role.upper() for role in roles)
    for role in upper - frozenset(ROLES):
        raise parser.error(f"'role' takes DS, NS or SB, not {role!r}", token)
    return _Role(upper)


def _conn(parser: _Parser, name: str) -> Check:
    token, names = parser.items(name, "connection ids or names (conn 5, conn SB#5)")
    try:
        return _Conns(tuple(parse_conn(item) for item in names))
    except ValueError as exc:
        raise parser.error(f"'conn' takes {exc}", token) from None


def _handle(parser: _Parser, name: str) -> Check:
    token = parser.argument(name, "an account (handle alice@example.com)")
    return _Handle(token.value.lower())


def _trid(parser: _Parser, name: str) -> Check:
    return _Trid(parser.number(name, parser.argument(name, "a number")))


def _len(parser: _Parser, name: str) -> Check:
    operator = parser.peek()
    if operator.kind != "op" or operator.value not in _OPERATORS:
        raise parser.error("expected a comparison after 'len' (len > 1000)")
    parser.index += 1
    size = parser.number(name, parser.argument(name, "a number after the comparison"))
    return _Length(operator.value, size)


def _regex_test(parser: _Parser, name: str) -> Check:
    return _Regex(name, parser.regex(name))


def _flag(parser: _Parser, name: str) -> Check:
    return _Flag(name)


_TESTS: dict[str, Callable[[_Parser, str], Check]] = {
    "cmd": _cmd,
    "dir": _dir,
    "role": _role,
    "conn": _conn,
    "handle": _handle,
    "trid": _trid,
    "error": _flag,
    "redirect": _flag,
    "open": _flag,
    "close": _flag,
    "payload": _regex_test,
    "line": _regex_test,
    "len": _len,
}


@dataclass(frozen=True, slots=True)
class _Any:
    checks: tuple[Check, ...]

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        return any(check(subject, sessions) for check in self.checks)


@dataclass(frozen=True, slots=True)
class _All:
    checks: tuple[Check, ...]

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        return all(check(subject, sessions) for check in self.checks)


@dataclass(frozen=True, slots=True)
class _Not:
    check: Check

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        return not self.check(subject, sessions)


@dataclass(frozen=True, slots=True)
class _Verbs:
    verbs: frozenset[str]

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        if subject.command is not None:
            return subject.command.verb in self.verbs
        return subject.kind == "rewrite" and _field(subject, "cmd") in self.verbs


@dataclass(frozen=True, slots=True)
class _Direction:
    direction: str

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        return subject.direction == self.direction


@dataclass(frozen=True, slots=True)
class _Role:
    roles: frozenset[str]

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        return (subject.role or sessions.role(subject.conn)) in self.roles


@dataclass(frozen=True, slots=True)
class _Conns:
    conns: tuple[tuple[int, str | None], ...]

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        role = subject.role or sessions.role(subject.conn)
        return any(
            conn == subject.conn and (wanted is None or wanted == role)
            for conn, wanted in self.conns
        )


@dataclass(frozen=True, slots=True)
class _Handle:
    handle: str

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        return sessions.handle(subject.conn) == self.handle


@dataclass(frozen=True, slots=True)
class _Trid:
    trid: int

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        return subject.command is not None and subject.command.trid == self.trid


@dataclass(frozen=True, slots=True)
class _Length:
    operator: str
    size: int

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        size = subject.length()
        return size is not None and _OPERATORS[self.operator](size, self.size)


@dataclass(frozen=True, slots=True)
class _Regex:
    where: str  # "payload" or "line"
    pattern: re.Pattern[str]

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        if self.where == "line":
            return self.pattern.search(subject.line()) is not None
        command = subject.command
        if command is None or command.payload is None:
            return False
        return self.pattern.search(command.payload.decode("utf-8", "replace")) is not None


@dataclass(frozen=True, slots=True)
class _Flag:
    name: str  # error, redirect, open, close

    def __call__(self, subject: Subject, sessions: Sessions) -> bool:
        command = subject.command
        if self.name == "error":
            return subject.kind in ("error", "raw") or (command is not None and command.is_error)
        if self.name == "redirect":
            return subject.kind == "rewrite" or (
                command is not None and command.verb in REDIRECT_VERBS
            )
        return subject.kind == self.name


def _field(subject: Subject, key: str) -> str:
    prefix = key + "="
    for part in subject.text.split(" "):
        if part.startswith(prefix):
            return part[len(prefix) :]
    return ""


@dataclass(slots=True)
class Filter:
    """A compiled filter expression: call it with records or subjects, in order."""

    text: str
    check: Check
    sessions: Sessions = field(default_factory=Sessions)

    def __call__(self, item: Subject | Mapping[str, Any]) -> bool:
        """Whether ``item`` (a capture record or a ``Subject``) is selected; the header and
        other records without a connection are never selected."""
        subject = _subject(item)
        if subject is None:
            return False
        self.sessions.observe(subject)
        return self.check(subject, self.sessions)

    def prime(self, items: Iterable[Subject | Mapping[str, Any]]) -> None:
        """Learn the connections' accounts from ``items`` (a first reading of a capture)
        without selecting anything, so that ``handle`` also selects what a connection said
        before its login; then feed the same items again."""
        for item in items:
            subject = _subject(item)
            if subject is not None:
                self.sessions.observe(subject)

    def uses_sessions(self) -> bool:
        """Whether the expression has a ``handle`` test (which ``prime`` helps)."""
        return any(isinstance(node, _Handle) for node in self._nodes())

    def verbs(self) -> frozenset[str]:
        """Every verb the expression names in a ``cmd`` test (to warn about unseen ones)."""
        return frozenset(
            verb for node in self._nodes() if isinstance(node, _Verbs) for verb in node.verbs
        )

    def _nodes(self) -> Iterator[object]:
        stack: list[object] = [self.check]
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, _Any | _All):
                stack.extend(node.checks)
            elif isinstance(node, _Not):
                stack.append(node.check)


KEYWORDS = frozenset({*_TESTS, "not"})
"""The words an expression can start with (its tests and ``not``)."""


def _subject(item: Subject | Mapping[str, Any]) -> Subject | None:
    if isinstance(item, Subject):
        return item
    return subject_of(item) if isinstance(item.get("conn"), int) else None


def compile(text: str) -> Filter:  # noqa: A001 - the public name, as re.compile
    """Compile a filter expression.

    Raises:
        FilterError: the text is not a filter; its message names the column.
    """
    return Filter(text, _Parser(text).parse())


def conjunction(*texts: str | None) -> str | None:
    """The expressions joined by ``and`` (each in parentheses); None when there is none."""
    present = [text for text in texts if text]
    if not present:
        return None
    return present[0] if len(present) == 1 else " and ".join(f"({text})" for text in present)
