"""Reading NetworkPolicy manifests from files, directories and stdin, with the position of every field.

A path expands to files (directories recursively: ``*.yaml``, ``*.yml``, ``*.json``, sorted); a file
holds one or more documents (a YAML stream, a JSON object, ``kind: List`` items). Each NetworkPolicy
document keeps its plain object (what the engine judges) and a `PositionIndex` from Kubernetes field
paths (``spec.ingress[0].from[1].ipBlock.cidr``, the syntax of `app.netpol.format_path`) to 1-based
``(line, column)``, so every finding can point at ``file:line:column``. Documents of other kinds are
skipped and counted. A file that cannot be read or parsed becomes an `UnreadableManifest` naming the
file and line; the other files are still read.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.errors import ManifestError

STDIN: Final = "-"
STDIN_NAME: Final = "<stdin>"
MANIFEST_SUFFIXES: Final = frozenset({".yaml", ".yml", ".json"})
NETWORKING_GROUP: Final = "networking.k8s.io/"
MAX_ALIAS_EXPANSION: Final = 1_000_000
"""Nodes YAML aliases may add to one document (a million is far beyond any NetworkPolicy's own size)."""

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The last segment of a field path: ``.name`` or ``[3]`` (used to fall back to the nearest ancestor).
_LAST_SEGMENT = re.compile(r"(?:\.[^.\[\]]*|\[\d+\])$")

Position = tuple[int, int]
"""(line, column), both 1-based."""


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loading, except that timestamps stay strings: the API server sees them as JSON strings."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _BaseLoader.construct_yaml_str)


class UnreadableManifest(ManifestError):
    """A file that cannot be read or parsed; ``line``/``column`` are 1-based, 0 when unknown."""

    def __init__(self, path: str, problem: str, line: int = 0, column: int = 0) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        self.column = column
        where = f"{path}:{line}:{column}" if line else path
        super().__init__(f"{where}: {problem}")


def _mark(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _index_tree(root: Node) -> dict[str, Position]:
    """Every field path under ``root`` with its position, in one linear walk of the node tree.

    A mapping entry points at its value when the value is a non-empty scalar (``cidr: 10.0.0.0/8``
    points at ``10.0.0.0/8``) and at its key otherwise (``ingress:`` for the whole list). The walk is in
    document order and enters each collection once: a YAML anchor is defined before its aliases, so
    what it holds is indexed under the anchor's own path, and the paths through an alias resolve to the
    alias. Neither a recursive alias nor an alias bomb (``[*a, *a, ...]`` nested) can make it loop or
    grow exponentially.
    """
    index: dict[str, Position] = {"": _mark(root)}
    walked: set[int] = set()
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in walked:
            continue
        walked.add(id(node))
        inner: list[tuple[Node, str]] = []
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if not isinstance(key, ScalarNode):
                    continue
                child = f"{path}.{key.value}" if path else str(key.value)
                scalar_value = isinstance(value, ScalarNode) and value.value != ""
                index[child] = _mark(value) if scalar_value else _mark(key)
                if isinstance(value, MappingNode | SequenceNode):
                    inner.append((value, child))
        elif isinstance(node, SequenceNode):
            for position, item in enumerate(node.value):
                child = f"{path}[{position}]"
                index[child] = _mark(item)
                if isinstance(item, MappingNode | SequenceNode):
                    inner.append((item, child))
        stack.extend(reversed(inner))  # popped in document order
    return index


def _expands_beyond(root: Node, budget: int) -> bool:
    """True when expanding the YAML aliases under ``root`` adds more than ``budget`` nodes, or a
    collection under it contains itself.

    Aliases make the constructed object share subtrees, so the nodes are few while a walk of the object
    (decoding, the rules) visits every path: ``[*a, *a, ...]`` nested four deep in a 27 KB file is
    billions of visits. Counted in one pass over the distinct nodes, each node's expanded size memoised.
    """
    sizes: dict[int, int] = {}
    distinct = 0
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] - distinct > budget:
                return True
            continue
        if key in sizes:
            if sizes[key] < 0:
                return True  # still being counted: the collection contains itself
            continue
        sizes[key] = -1
        distinct += 1
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    return False


def _judged_parts(root: Node) -> Iterator[Node]:
    """The ``metadata`` and ``spec`` nodes of a document, or of each item of a ``kind: List``: the parts
    decoding and the rules walk (other fields are ignored, aliased or not)."""
    documents = [root]
    for key, value in root.value if isinstance(root, MappingNode) else ():
        if isinstance(key, ScalarNode) and key.value == "items" and isinstance(value, SequenceNode):
            documents.extend(value.value)
    for document in documents:
        for key, value in document.value if isinstance(document, MappingNode) else ():
            if isinstance(key, ScalarNode) and key.value in ("metadata", "spec"):
                yield value


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


class PositionIndex:
    """Field path -> (line, column) for one document, built on the first lookup.

    Most documents have no finding, so the walk of the node tree is deferred until a position is asked
    for; it then costs one linear pass. ``node`` may be a callable that composes the tree on demand
    (JSON input is parsed with the json module and composed as YAML only for positions).
    """

    __slots__ = ("_index", "_node", "_start")

    def __init__(self, node: Node | Callable[[], Node | None] | None, start: Position = (1, 1)) -> None:
        self._node = node
        self._start = start
        self._index: dict[str, Position] | None = None

    def locate(self, path: str) -> Position:
        """The position of ``path``, else of its nearest existing ancestor, else the document start."""
        index = self._build()
        while path:
            found = index.get(path)
            if found is not None:
                return found
            last = _LAST_SEGMENT.search(path)
            path = path[: last.start()] if last else ""
        return index.get("", self._start)

    def _build(self) -> dict[str, Position]:
        if self._index is None:
            node = self._node() if callable(self._node) else self._node
            self._index = _index_tree(node) if node is not None else {}
            self._node = None  # the tree is no longer needed
        return self._index


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """One NetworkPolicy object as read from a file, with its field positions."""

    obj: dict[str, Any]
    positions: PositionIndex

    @property
    def start(self) -> Position:
        """Where the object starts (its first key)."""
        return self.positions.locate("")

    def locate(self, path: str) -> Position:
        """Line and column of a field path (nearest ancestor when the field does not exist)."""
        return self.positions.locate(path)


@dataclass(frozen=True, slots=True)
class ManifestFile:
    """What one file (or stdin) holds: its NetworkPolicies, how many other documents it had, or why it
    could not be read."""

    path: str
    policies: tuple[PolicyDocument, ...] = ()
    skipped: int = 0
    error: UnreadableManifest | None = None


def is_network_policy(obj: Any) -> bool:
    """True for a ``networking.k8s.io/*`` NetworkPolicy object."""
    return (
        isinstance(obj, dict)
        and obj.get("kind") == "NetworkPolicy"
        and isinstance(obj.get("apiVersion"), str)
        and obj["apiVersion"].startswith(NETWORKING_GROUP)
    )


def _list_items(obj: Any) -> list[Any] | None:
    # kubectl accepts `kind: List` and typed lists (`NetworkPolicyList`) alike.
    if isinstance(obj, dict) and isinstance(obj.get("kind"), str) and obj["kind"].endswith("List"):
        items = obj.get("items")
        if isinstance(items, list):
            return items
    return None


def _item_node(node: Node | None, position: int) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value == "items" and isinstance(value, SequenceNode):
            return value.value[position] if position < len(value.value) else None
    return None


class _Collector:
    """Sorts documents into policies and skipped ones, unwrapping lists."""

    def __init__(self) -> None:
        self.policies: list[PolicyDocument] = []
        self.skipped = 0

    def add(self, obj: Any, node: Node | Callable[[], Node | None] | None) -> None:
        if obj is None:
            return  # an empty document (`---` at the end of a file) is not a document
        items = _list_items(obj)
        if items is not None:
            for position, item in enumerate(items):
                self._add_one(item, _item_locator(node, position))
            return
        self._add_one(obj, node)

    def _add_one(self, obj: Any, node: Node | Callable[[], Node | None] | None) -> None:
        if is_network_policy(obj):
            self.policies.append(PolicyDocument(obj, PositionIndex(node)))
        elif obj is not None:
            self.skipped += 1


def _item_locator(node: Node | Callable[[], Node | None] | None, position: int) -> Callable[[], Node | None]:
    def locate() -> Node | None:
        return _item_node(node() if callable(node) else node, position)

    return locate


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[str, int, int]:
    if isinstance(exc, yaml.reader.ReaderError):
        # No mark, and the offset is in bytes (libyaml) or characters (pure Python): the reader stops at
        # the first character it refuses, so that character's first occurrence is the place.
        offset = max(text.find(chr(exc.character)), 0)
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return f"not valid YAML: {exc.reason} (U+{exc.character:04X}); remove it", line, column
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return message, 0, 0
    return message, mark.line + 1, mark.column + 1


def _parse_yaml(text: str, path: str) -> ManifestFile:
    collector = _Collector()
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            # Aliases need anchors: a document without "&" cannot expand, and skips the count.
            bomb = (
                next(
                    (part for part in _judged_parts(node) if _expands_beyond(part, MAX_ALIAS_EXPANSION)), None
                )
                if "&" in text
                else None
            )
            if bomb is not None:
                line, column = _mark(bomb)
                problem = (
                    f"YAML aliases expand this field by more than {MAX_ALIAS_EXPANSION:,} nodes, or a "
                    "collection contains itself (an alias bomb?); write the values out instead of aliases"
                )
                return ManifestFile(path, error=UnreadableManifest(path, problem, line, column))
            collector.add(loader.construct_document(node), node)
    except yaml.YAMLError as exc:
        problem, line, column = _yaml_problem(exc, text)
        return ManifestFile(path, error=UnreadableManifest(path, problem, line, column))
    except RecursionError:
        return ManifestFile(path, error=UnreadableManifest(path, "not valid YAML: nested too deeply"))
    finally:
        loader.dispose()
    return ManifestFile(path, tuple(collector.policies), collector.skipped)


def _compose_quietly(text: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return None  # valid JSON that YAML cannot read: findings fall back to line 1


def _parse_json(text: str, path: str) -> ManifestFile:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON: {exc.msg}"
        return ManifestFile(path, error=UnreadableManifest(path, problem, exc.lineno, exc.colno))
    except RecursionError:
        return ManifestFile(path, error=UnreadableManifest(path, "not valid JSON: nested too deeply"))
    tree: list[Node | None] = []

    def root() -> Node | None:
        # Composed once, and only when a finding needs a position.
        if not tree:
            tree.append(_compose_quietly(text))
        return tree[0]

    collector = _Collector()
    collector.add(obj, root)
    return ManifestFile(path, tuple(collector.policies), collector.skipped)


def decode_text(data: bytes, path: str) -> str | UnreadableManifest:
    """``data`` as UTF-8 text (a BOM is dropped), or the problem at the first bad byte's line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return UnreadableManifest(
            path, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8", line, column
        )


def parse_manifest(data: bytes, path: str) -> ManifestFile:
    """Parse the bytes of one file; ``path`` names it in errors and decides JSON (``*.json``) or YAML.

    Stdin (and any other name) is read as JSON when it is a JSON document, else as YAML.
    """
    text = decode_text(data, path)
    if isinstance(text, UnreadableManifest):
        return ManifestFile(path, error=text)
    if path.lower().endswith(".json"):
        return _parse_json(text, path)
    if not path.lower().endswith((".yaml", ".yml")) and text.lstrip().startswith(("{", "[")):
        as_json = _parse_json(text, path)
        if as_json.error is None:
            return as_json
    return _parse_yaml(text, path)


def expand_paths(paths: Sequence[str]) -> Iterator[str | UnreadableManifest]:
    """Files to read, in a stable order: each argument in turn, directories walked recursively and sorted.

    A path that does not exist, or a directory that cannot be listed, is yielded as an
    `UnreadableManifest`; ``-`` (stdin) is yielded as is.
    """
    seen: set[str] = set()
    for path in paths:
        if path == STDIN:
            yield path
        elif os.path.isdir(path):
            for found in _walk(path):
                if isinstance(found, UnreadableManifest):
                    yield found
                elif os.path.realpath(found) not in seen:
                    seen.add(os.path.realpath(found))
                    yield found
        elif os.path.exists(path):
            if os.path.realpath(path) not in seen:
                seen.add(os.path.realpath(path))
                yield path
        else:
            yield UnreadableManifest(path, "no such file or directory")


def _walk(directory: str) -> Iterator[str | UnreadableManifest]:
    # os.walk skips a directory it cannot list unless told: that would pass CI without checking it.
    failures: list[OSError] = []
    for parent, dirs, files in os.walk(directory, onerror=failures.append):
        yield from _unlisted(failures)
        dirs.sort()
        for name in sorted(files):
            if Path(name).suffix.lower() in MANIFEST_SUFFIXES:
                yield os.path.join(parent, name)
    yield from _unlisted(failures)


def _unlisted(failures: list[OSError]) -> Iterator[UnreadableManifest]:
    for exc in failures:
        yield UnreadableManifest(str(exc.filename), f"cannot read the directory: {exc.strerror or exc}")
    failures.clear()


def read_manifests(paths: Sequence[str], stdin: BinaryIO | None = None) -> Iterator[ManifestFile]:
    """Read every file the paths name, one `ManifestFile` each; never raises for bad input."""
    for path in expand_paths(paths):
        if isinstance(path, UnreadableManifest):
            yield ManifestFile(path.path, error=path)
        elif path == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            yield parse_manifest(stream.read(), STDIN_NAME)
        else:
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                problem = f"cannot read the file: {exc.strerror or exc}"
                yield ManifestFile(path, error=UnreadableManifest(path, problem))
                continue
            yield parse_manifest(data, path)
