"""The part of OData's ``$filter`` language the fake tenant understands, parsed and evaluated.

Supported: ``and``, ``or``, ``not``, parentheses; ``eq ne ge le gt lt`` between a property path
(``employeeHireDate``, ``teamsApp/id``) and a literal; ``in (…)``; ``startswith`` and ``endswith``;
the lambda ``any``/``all`` (``targetResources/any(t:t/id eq 'x')``). Literals: quoted strings
(``''`` is a quote), unquoted DateTimeOffsets, numbers, ``true``, ``false``, ``null``.

String comparisons ignore case, as the directory's do. A `Filter` also reports which
(property, operator) pairs it uses, so a route can apply Graph's advanced-query rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<punct>[(),:])
    | (?P<name>[A-Za-z_@$][\w@./$-]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS = {"eq", "ne", "ge", "le", "gt", "lt"}
_FUNCTIONS = {"startswith", "endswith"}

Predicate = Callable[[Mapping[str, Any], dict[str, Any]], bool]


class ODataError(ValueError):
    """The filter text is not in the supported language."""


@dataclass
class Filter:
    """A parsed ``$filter``: call it on a JSON object; `uses` lists (property, operator)."""

    text: str
    predicate: Predicate
    uses: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, item: Mapping[str, Any]) -> bool:
        return self.predicate(item, {})

    def operators_on(self, prop: str) -> set[str]:
        """The operators applied to *prop* (case-insensitive name)."""
        return {op for p, op in self.uses if p.casefold() == prop.casefold()}


def parse_filter(text: str) -> Filter:
    """Parse *text*; raise ODataError when it is not supported."""
    tokens = _tokenize(text)
    parser = _Parser(tokens)
    predicate = parser.expression()
    if parser.peek() is not None:
        raise ODataError(f"unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    return Filter(text, predicate, parser.uses)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ODataError(f"syntax error at position {pos}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def parse_datetime(value: str) -> datetime:
    """An OData DateTimeOffset as an aware UTC datetime (``Z`` and 7 fractional digits too)."""
    text = value.replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _lookup(item: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(item, Mapping):
            return None
        if part in item:
            item = item[part]
            continue
        # Graph's audit objects spell "Type" and "type"; names are case-insensitive.
        folded = {k.casefold(): v for k, v in item.items()}
        item = folded.get(part.casefold())
    return item


def _normalise(value: Any, literal: Any) -> tuple[Any, Any]:
    if isinstance(literal, datetime) and isinstance(value, str):
        try:
            return parse_datetime(value), literal
        except ValueError:
            return None, literal
    if isinstance(literal, str) and isinstance(value, str):
        return value.casefold(), literal.casefold()
    return value, literal


def _compare(op: str, value: Any, literal: Any) -> bool:
    value, literal = _normalise(value, literal)
    if op == "eq":
        return bool(value == literal)
    if op == "ne":
        return bool(value != literal)
    if value is None or literal is None:
        return False
    try:
        return {
            "ge": value >= literal,
            "le": value <= literal,
            "gt": value > literal,
            "lt": value < literal,
        }[op]
    except TypeError:
        return False


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.uses: list[tuple[str, str]] = []
        self.variables: list[str] = []
        self.ranges: dict[str, str] = {}  # lambda variable -> the collection it ranges over

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ODataError("unexpected end of filter")
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token[1].lower() != text:
            raise ODataError(f"expected {text!r}, got {token[1]!r}")

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "name" and token[1].lower() in words

    def expression(self) -> Predicate:
        parts = [self.conjunction()]
        while self.at_word("or"):
            self.take()
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]
        return lambda item, env: any(p(item, env) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.at_word("and"):
            self.take()
            parts.append(self.unary())
        if len(parts) == 1:
            return parts[0]
        return lambda item, env: all(p(item, env) for p in parts)

    def unary(self) -> Predicate:
        if self.at_word("not"):
            self.take()
            inner = self.unary()
            self.uses.append(("*", "not"))
            return lambda item, env: not inner(item, env)
        token = self.peek()
        if token is not None and token[1] == "(":
            self.take()
            inner = self.expression()
            self.expect(")")
            return inner
        return self.term()

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "datetime":
            return parse_datetime(text)
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "name" and text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise ODataError(f"expected a literal, got {text!r}")

    def resolver(self, name: str) -> Callable[[Mapping[str, Any], dict[str, Any]], Any]:
        path = name.split("/")
        if path[0] in self.variables:
            var, rest = path[0], path[1:]
            return lambda item, env: _lookup(env[var], rest)
        return lambda item, env: _lookup(item, path)

    def property_name(self, name: str) -> str:
        path = name.split("/")
        if path[0] in self.variables:
            # Report a lambda's property by the collection it ranges over: "targetResources/id".
            return "/".join([self.ranges[path[0]], *path[1:]])
        return name

    def term(self) -> Predicate:
        kind, name = self.take()
        if kind != "name":
            raise ODataError(f"expected a property, got {name!r}")
        lowered = name.lower()
        if lowered in _FUNCTIONS:
            return self.function(lowered)
        if lowered.endswith(("/any", "/all")):
            return self.lambda_(name)
        get = self.resolver(name)
        prop = self.property_name(name)
        if self.at_word("in"):
            self.take()
            self.expect("(")
            values = [self.literal()]
            while self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                self.take()
                values.append(self.literal())
            self.expect(")")
            self.uses.append((prop, "in"))
            return lambda item, env: any(_compare("eq", get(item, env), v) for v in values)
        op_token = self.take()
        op = op_token[1].lower()
        if op not in _COMPARISONS:
            raise ODataError(f"unsupported operator {op_token[1]!r}")
        literal = self.literal()
        self.uses.append((prop, op))
        return lambda item, env: _compare(op, get(item, env), literal)

    def function(self, function: str) -> Predicate:
        self.expect("(")
        kind, name = self.take()
        if kind != "name":
            raise ODataError(f"{function} needs a property first")
        get = self.resolver(name)
        self.expect(",")
        literal = self.literal()
        self.expect(")")
        if not isinstance(literal, str):
            raise ODataError(f"{function} needs a string")
        self.uses.append((self.property_name(name), function))
        wanted = literal.casefold()

        def test(item: Mapping[str, Any], env: dict[str, Any]) -> bool:
            value = get(item, env)
            if not isinstance(value, str):
                return False
            folded = value.casefold()
            return (
                folded.startswith(wanted) if function == "startswith" else folded.endswith(wanted)
            )

        return test

    def lambda_(self, name: str) -> Predicate:
        collection, _, quantifier = name.rpartition("/")
        get = self.resolver(collection)
        self.expect("(")
        kind, var = self.take()
        if kind != "name":
            raise ODataError("a lambda needs a variable")
        self.expect(":")
        self.ranges = {**self.ranges, var: self.property_name(collection)}
        self.variables.append(var)
        body = self.expression()
        self.variables.pop()
        self.expect(")")
        check = any if quantifier.lower() == "any" else all

        def test(item: Mapping[str, Any], env: dict[str, Any]) -> bool:
            values = get(item, env) or []
            return check(body(item, {**env, var: v}) for v in values)

        return test
