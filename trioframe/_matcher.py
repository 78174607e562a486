"""Routing's hot path: a URL matched to its rule without werkzeug's ``MapAdapter``.

werkzeug compiles a map's rules into a tree of states, one per path segment, in its
``StateMachineMatcher``. `Matcher` is that matcher with one more method, `Matcher.answer`,
which walks the same tree in the same order (static segments before converters, converters
by weight, rules in the order they were added) and gives werkzeug's answers for plain hits
(the first rule that takes the path, the method and the kind of connection, with its values
converted) and for plain misses (no rule, the wrong method, the wrong kind of connection).
Everything else returns ``None`` and the caller asks werkzeug's ``MapAdapter``: the
trailing-slash redirect, merged slashes, a converter refusing the value, alias and default
redirects, and ``redirect_to``.

Why not call werkzeug for every request: binding a ``MapAdapter`` costs more than matching,
and werkzeug's ``match`` defines a recursive closure on each call, which leaves a reference
cycle behind for the garbage collector per request. Here the walk is a method, each
converter's pattern is compiled once, and the cost does not grow with the number of rules
(the tree branches on each segment, as werkzeug's does).

The tree is werkzeug's own, so a rule added at any time is found, and a differential test
(``tests/test_matcher.py``) holds both walks to the same answers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Map, ValidationError
from werkzeug.routing.exceptions import NoMatch
from werkzeug.routing.matcher import StateMachineMatcher

if TYPE_CHECKING:
    from collections.abc import Iterable

    from werkzeug.routing import Rule
    from werkzeug.routing.matcher import State

#: werkzeug's prefix for the regex group of a converter in a segment's pattern.
_GROUP_PREFIX = "__werkzeug_"


class _NotAHit(Exception):
    """werkzeug would answer with a redirect here, whatever else the tree holds."""


class _Misses:
    """What a walk saw of the rules that took the path but not the request: the methods
    they accept, and whether one was for the other kind of connection."""

    __slots__ = ("methods", "other_kind")

    def __init__(self) -> None:
        self.methods: set[str] = set()
        self.other_kind = False

    def first_taker(self, rules: Iterable[Rule], method: str, websocket: bool) -> Rule | None:
        """The first of ``rules`` that takes ``method`` and the kind of connection; what
        the ones before it take instead is recorded."""
        for rule in rules:
            if rule.methods is not None and method not in rule.methods:
                self.methods.update(rule.methods)
            elif rule.websocket != websocket:
                self.other_kind = True
            else:
                return rule
        return None


class Matcher(StateMachineMatcher):
    """werkzeug's state machine, plus `answer` for the requests it can answer alone."""

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map.merge_slashes)
        self._map = url_map
        # A segment's regex, and its converters' group names in order, by pattern source.
        self._patterns: dict[str, tuple[re.Pattern[str], tuple[str, ...]]] = {}
        # Whether werkzeug may redirect a hit on a rule to another rule's defaults (when
        # the map's redirect_defaults is on); by the rule's id (rules compare by value, and
        # a map keeps its rules for ever).
        self._may_redirect: dict[int, bool] = {}

    def update(self) -> None:
        """Sort the tree (werkzeug's work) after rules were added, and forget what was
        derived from the rules before."""
        super().update()
        self._patterns.clear()
        self._may_redirect.clear()

    def answer(
        self, domain: str, path: str, method: str, websocket: bool
    ) -> tuple[Rule, dict[str, Any]] | NoMatch | None:
        """The rule for ``path`` (which starts with one ``/``) on ``domain`` (the subdomain,
        or the host when the map matches hosts), and its converted values; or werkzeug's
        `NoMatch` for a path no rule takes this way; or ``None`` when werkzeug's
        ``MapAdapter.match`` must give the answer."""
        self._map.update()
        misses = _Misses()
        try:
            found = self._walk(
                self._root, [domain, *path.split("/")], 0, [], method, websocket, misses
            )
        except _NotAHit:
            return None
        if found is None:
            if self.merge_slashes and "//" in path:
                return None  # werkzeug tries again with slashes merged, then redirects
            return NoMatch(misses.methods, misses.other_kind)
        rule, raw_values = found
        if rule.redirect_to is not None:
            return None
        if self._map.redirect_defaults:
            may_redirect = self._may_redirect.get(id(rule))
            if may_redirect is None:
                may_redirect = self._may_redirect[id(rule)] = self._may_redirect_to_defaults(rule)
            if may_redirect:
                return None
        values: dict[str, Any] = {}
        for (name, converter), raw in zip(rule._converters.items(), raw_values, strict=False):
            try:
                values[name] = converter.to_python(raw)
            except ValidationError:
                return None  # werkzeug then answers 404 or 405 for the path
        if rule.defaults:
            values.update(rule.defaults)
        return rule, values

    def _walk(
        self,
        state: State,
        parts: list[str],
        index: int,
        values: list[str],
        method: str,
        websocket: bool,
        misses: _Misses,
    ) -> tuple[Rule, list[str]] | None:
        """werkzeug's walk from ``state`` over ``parts[index:]``.

        Raises:
            _NotAHit: werkzeug would stop here with the trailing-slash redirect.
        """
        if index == len(parts):
            rule = misses.first_taker(state.rules, method, websocket)
            if rule is not None:
                return rule, values
            slashed = state.static.get("")
            if slashed is not None:
                for rule in slashed.rules:
                    if rule.websocket == websocket and (
                        rule.methods is None or method in rule.methods
                    ):
                        if rule.strict_slashes:
                            raise _NotAHit
                        return rule, values
            return None
        part = parts[index]
        static = state.static.get(part)
        if static is not None:
            found = self._walk(static, parts, index + 1, values, method, websocket, misses)
            if found is not None:
                return found
        for test_part, next_state in state.dynamic:
            pattern, groups = self._pattern(test_part.content)
            rest = parts
            if test_part.final:  # the converter takes the rest of the path
                match = pattern.match("/".join(parts[index:]))
                rest_index = len(parts)
            else:
                match = pattern.match(part)
                rest_index = index + 1
            if match is None:
                continue
            if test_part.suffixed and match.groups()[-1] == "/":
                rest, rest_index = [""], 0  # a trailing slash left to match
            found = self._walk(
                next_state,
                rest,
                rest_index,
                values + [match.group(name) for name in groups],
                method,
                websocket,
                misses,
            )
            if found is not None:
                return found
        if index == len(parts) - 1 and part == "":
            # Only a trailing slash is left: rules without strict slashes take it.
            loose = [rule for rule in state.rules if not rule.strict_slashes]
            rule = misses.first_taker(loose, method, websocket)
            if rule is not None:
                return rule, values
        return None

    def _pattern(self, source: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
        compiled = self._patterns.get(source)
        if compiled is None:
            pattern = re.compile(source)
            groups = sorted(
                (name for name in pattern.groupindex if name.startswith(_GROUP_PREFIX)),
                key=lambda name: int(name[len(_GROUP_PREFIX) :]),
            )
            compiled = self._patterns[source] = (pattern, tuple(groups))
        return compiled

    def _may_redirect_to_defaults(self, rule: Rule) -> bool:
        """Whether werkzeug's ``redirect_defaults`` may turn a hit on ``rule`` into a
        redirect: it is an alias, or another rule of its endpoint provides defaults."""
        return rule.alias or any(
            other.provides_defaults_for(rule) for other in self._map.iter_rules(rule.endpoint)
        )


def matching_map(*, host_matching: bool) -> Map:
    """A werkzeug ``Map`` whose matcher is a `Matcher`."""
    url_map = Map(host_matching=host_matching)
    url_map._matcher = Matcher(url_map)
    return url_map
