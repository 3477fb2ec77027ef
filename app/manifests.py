"""Reading NetworkPolicy manifests from files, directories and stdin, with the position of every field.

A path expands to files (directories recursively: ``*.yaml``, ``*.yml``, ``*.json``, sorted); a file
holds one or more documents (a YAML stream, a JSON object, ``kind: List`` items). Each NetworkPolicy
document keeps its plain object (what the engine judges) and a `PositionIndex` from Kubernetes field
paths (``spec.ingress[0].from[1].ipBlock.cidr``, the syntax of `app.netpol.format_path`) to 1-based
``(line, column)``, so every finding can point at ``file:line:column``. Documents of other kinds are
skipped and counted. A file that cannot be read or parsed becomes an `UnreadableManifest` naming the
file and line; the other files are still read.

A YAML stream is split at its ``---`` lines first, as kubectl splits it, so a broken document is
reported on its own and the other documents of the file are still judged; each document is parsed
once, so the time is linear in the number of documents. Files are bounded: over ``max_file_bytes`` a
file is an error without being read, and only regular files are opened (a FIFO or a device found in a
directory is skipped with a note; named explicitly it is an error, never a hang).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.apischema import is_policy_like
from app.errors import ManifestError
from app.yamlerrors import describe_yaml_error

STDIN: Final = "-"
STDIN_NAME: Final = "<stdin>"
MANIFEST_SUFFIXES: Final = frozenset({".yaml", ".yml", ".json"})
NETWORKING_GROUP: Final = "networking.k8s.io/"
MAX_ALIAS_EXPANSION: Final = 1_000_000
"""Nodes YAML aliases may add to one document (a million is far beyond any NetworkPolicy's own size)."""
MAX_FILE_BYTES: Final = 16 * 1024 * 1024
"""Largest input file read (``--max-file-bytes``): the largest real policy is a few KiB, and a file is
held in memory several times over while parsed."""
# A line holding only ``---`` (and maybe a comment) ends a document: how kubectl's YAML reader splits.
_SEPARATOR = re.compile(r"^---[ \t]*(?:#[^\n]*)?$", re.MULTILINE)
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The last segment of a field path: ``.name`` or ``[3]`` (used to fall back to the nearest ancestor).
_LAST_SEGMENT = re.compile(r"(?:\.[^.\[\]]*|\[\d+\])$")

Position = tuple[int, int]
"""(line, column), both 1-based."""


class YamlLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe YAML loading for every file netpol-guard reads (manifests and the rules file).

    Safe loading, except that timestamps stay strings (the API server sees JSON strings), a number
    too long to convert is an error at its position, and mappings that repeat a key are remembered."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.repeated: list[MappingNode] = []

    def construct_yaml_int(self, node: ScalarNode) -> int:
        try:
            value: int = super().construct_yaml_int(node)
        except ValueError:  # Python refuses to convert more than 4,300 digits
            digits = sum(ch.isdigit() for ch in node.value)
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a number of {digits:,} digits cannot be read (no field holds one)",
                node.start_mark,
            ) from None
        return value

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [key.value for key, _ in node.value if isinstance(key, ScalarNode) and key.tag != _MERGE_TAG]
        if len(keys) != len(set(keys)):
            self.repeated.append(node)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep)
        return mapping


YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _BaseLoader.construct_yaml_str)
YamlLoader.add_constructor("tag:yaml.org,2002:int", YamlLoader.construct_yaml_int)


class UnreadableManifest(ManifestError):
    """A file that cannot be read or parsed; ``line``/``column`` are 1-based, 0 when unknown."""

    def __init__(self, path: str, problem: str, line: int = 0, column: int = 0) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        self.column = column
        where = f"{path}:{line}:{column}" if line else path
        super().__init__(f"{where}: {problem}")


def _mark(node: Node, line_offset: int = 0) -> Position:
    return node.start_mark.line + 1 + line_offset, node.start_mark.column + 1


def _index_tree(root: Node, line_offset: int = 0) -> dict[str, Position]:
    """Every field path under ``root`` with its position, in one linear walk of the node tree.

    A mapping entry points at its value when the value is a non-empty scalar (``cidr: 10.0.0.0/8``
    points at ``10.0.0.0/8``) and at its key otherwise (``ingress:`` for the whole list). The walk is in
    document order and enters each collection once: a YAML anchor is defined before its aliases, so
    what it holds is indexed under the anchor's own path, and the paths through an alias resolve to the
    alias. Neither a recursive alias nor an alias bomb (``[*a, *a, ...]`` nested) can make it loop or
    grow exponentially. ``line_offset`` is where the document starts in its file.
    """
    index: dict[str, Position] = {"": _mark(root, line_offset)}
    for node, path in _collections(root):
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode):
                    scalar_value = isinstance(value, ScalarNode) and value.value != ""
                    index[_key_path(path, key)] = _mark(value if scalar_value else key, line_offset)
        else:
            for position, item in enumerate(node.value):
                index[f"{path}[{position}]"] = _mark(item, line_offset)
    return index


def _key_path(path: str, key: ScalarNode) -> str:
    return f"{path}.{key.value}" if path else str(key.value)


def _collections(root: Node) -> Iterator[tuple[MappingNode | SequenceNode, str]]:
    """Every mapping and sequence under ``root`` with its field path, each once, in document order."""
    walked: set[int] = set()
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in walked or not isinstance(node, MappingNode | SequenceNode):
            continue
        walked.add(id(node))
        yield node, path
        if isinstance(node, MappingNode):
            inner = [
                (value, _key_path(path, key)) for key, value in node.value if isinstance(key, ScalarNode)
            ]
        else:
            inner = [(item, f"{path}[{position}]") for position, item in enumerate(node.value)]
        stack.extend(reversed(inner))  # popped in document order


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

    __slots__ = ("_index", "_line_offset", "_node", "_start")

    def __init__(
        self, node: Node | Callable[[], Node | None] | None, start: Position = (1, 1), line_offset: int = 0
    ) -> None:
        self._node = node
        self._start = start
        self._line_offset = line_offset
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
            self._index = _index_tree(node, self._line_offset) if node is not None else {}
            self._node = None  # the tree is no longer needed
        return self._index


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """One NetworkPolicy object as read from a file, with its field positions."""

    obj: dict[str, Any]
    positions: PositionIndex
    duplicates: tuple[str, ...] = ()
    """Field paths whose key the document repeats in one mapping (the object keeps the last value)."""

    @property
    def start(self) -> Position:
        """Where the object starts (its first key)."""
        return self.positions.locate("")

    def locate(self, path: str) -> Position:
        """Line and column of a field path (nearest ancestor when the field does not exist)."""
        return self.positions.locate(path)


@dataclass(frozen=True, slots=True)
class ManifestFile:
    """What one file (or stdin) holds: its NetworkPolicies, how many other documents it had, and why it
    or some of its documents could not be read (``errors``, in file order). ``note`` says why a file
    was skipped without being read (not a regular file)."""

    path: str
    policies: tuple[PolicyDocument, ...] = ()
    skipped: int = 0
    errors: tuple[UnreadableManifest, ...] = ()
    note: str | None = None

    @property
    def error(self) -> UnreadableManifest | None:
        """The first error, or None."""
        return self.errors[0] if self.errors else None


def is_network_policy(obj: Any) -> bool:
    """True for an object meant as a Kubernetes NetworkPolicy, including one under a removed
    apiVersion or with a mis-cased kind (`app.apischema.is_policy_like`; api-validation reports it)."""
    return is_policy_like(obj)


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


@dataclass
class _Collector:
    """Sorts documents into policies, skipped ones and errors, unwrapping lists."""

    path: str
    policies: list[PolicyDocument] = field(default_factory=list)
    skipped: int = 0
    errors: list[UnreadableManifest] = field(default_factory=list)

    def add(
        self,
        obj: Any,
        node: Node | Callable[[], Node | None] | None,
        line_offset: int = 0,
        duplicates: tuple[str, ...] = (),
    ) -> None:
        if obj is None:
            return  # an empty document (`---` at the end of a file) is not a document
        items = _list_items(obj)
        if items is not None:
            for position, item in enumerate(items):
                prefix = f"items[{position}]."
                inner = tuple(path[len(prefix) :] for path in duplicates if path.startswith(prefix))
                self._add_one(item, _item_locator(node, position), line_offset, inner)
            return
        self._add_one(obj, node, line_offset, duplicates)

    def _add_one(
        self,
        obj: Any,
        node: Node | Callable[[], Node | None] | None,
        line_offset: int,
        duplicates: tuple[str, ...],
    ) -> None:
        if is_network_policy(obj):
            positions = PositionIndex(node, line_offset=line_offset)
            if isinstance(node, Node):
                # Indexed now, so that the node tree (several times the object's size) is freed at once:
                # a file of 100,000 documents would otherwise hold every tree until it is judged.
                positions.locate("")
            self.policies.append(PolicyDocument(obj, positions, duplicates))
        elif obj is not None:
            self.skipped += 1

    def fail(self, problem: str, line: int = 0, column: int = 0) -> None:
        self.errors.append(UnreadableManifest(self.path, problem, line, column))

    def result(self) -> ManifestFile:
        return ManifestFile(self.path, tuple(self.policies), self.skipped, tuple(self.errors))


def _item_locator(node: Node | Callable[[], Node | None] | None, position: int) -> Callable[[], Node | None]:
    def locate() -> Node | None:
        return _item_node(node() if callable(node) else node, position)

    return locate


def _repeated_paths(root: Node, repeated: list[MappingNode]) -> tuple[str, ...]:
    """The field paths of the keys the ``repeated`` mappings give more than once (rare: walked only
    when the loader saw one)."""
    wanted = {id(node) for node in repeated}
    found: list[str] = []
    for node, path in _collections(root):
        if id(node) in wanted:
            seen: set[str] = set()
            for key, _ in node.value:
                if isinstance(key, ScalarNode) and key.tag != _MERGE_TAG:
                    if key.value in seen:
                        found.append(_key_path(path, key))
                    seen.add(key.value)
    return tuple(dict.fromkeys(found))


def split_documents(text: str) -> Iterator[tuple[str, int]]:
    """The documents of a YAML stream with the line each starts on (0-based), split at ``---`` lines.

    One pass over the text: each document is handed to the parser alone, so a syntax error ends only
    its own document, as with kubectl.
    """
    start, line = 0, 0
    for match in _SEPARATOR.finditer(text):
        yield text[start : match.start()], line
        line += text.count("\n", start, match.end())
        start = match.end()
    yield text[start:], line


def _parse_document(text: str, line_offset: int, collector: _Collector) -> None:
    loader = YamlLoader(text)
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
                problem = (
                    f"YAML aliases expand this field by more than {MAX_ALIAS_EXPANSION:,} nodes, or a "
                    "collection contains itself (an alias bomb?); write the values out instead of aliases"
                )
                collector.fail(problem, *_mark(bomb, line_offset))
                return
            obj = loader.construct_document(node)
            duplicates = _repeated_paths(node, loader.repeated) if loader.repeated else ()
            loader.repeated.clear()
            collector.add(obj, node, line_offset, duplicates)
    except yaml.YAMLError as exc:
        collector.fail(*describe_yaml_error(exc, text, line_offset))
    except RecursionError:
        collector.fail("not valid YAML: nested too deeply", line_offset + 1, 1)
    finally:
        loader.dispose()


def _parse_yaml(text: str, path: str) -> ManifestFile:
    collector = _Collector(path)
    for document, line_offset in split_documents(text):
        _parse_document(document, line_offset, collector)
    return collector.result()


def _compose_quietly(text: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=YamlLoader)
    except (yaml.YAMLError, RecursionError):
        return None  # valid JSON that YAML cannot read: findings fall back to line 1


class _RepeatedKey(ValueError):
    """A JSON object repeats a key: read the text as YAML instead, which finds the key's path."""


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _RepeatedKey
    return obj


def _parse_json(text: str, path: str) -> ManifestFile:
    try:
        obj = json.loads(text, object_pairs_hook=_unique_object)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON: {exc.msg}"
        return ManifestFile(path, errors=(UnreadableManifest(path, problem, exc.lineno, exc.colno),))
    except RecursionError:
        return ManifestFile(path, errors=(UnreadableManifest(path, "not valid JSON: nested too deeply"),))
    except ValueError:
        # A repeated key, or a number with more digits than Python converts: JSON is YAML, and the YAML
        # reader reports both at their line and column.
        return _parse_yaml(text, path)
    tree: list[Node | None] = []

    def root() -> Node | None:
        # Composed once, and only when a finding needs a position.
        if not tree:
            tree.append(_compose_quietly(text))
        return tree[0]

    collector = _Collector(path)
    collector.add(obj, root)
    return collector.result()


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
        return ManifestFile(path, errors=(text,))
    if path.lower().endswith(".json"):
        return _parse_json(text, path)
    if not path.lower().endswith((".yaml", ".yml")) and text.lstrip().startswith(("{", "[")):
        as_json = _parse_json(text, path)
        if as_json.error is None:
            return as_json
    return _parse_yaml(text, path)


def _excluded(relative: str, patterns: Sequence[str]) -> bool:
    """True when ``relative`` (a POSIX path below a PATH) or one of its parent folders matches a glob.

    ``*`` also crosses ``/`` (fnmatch), and a leading ``**/`` also matches at the top, so ``vendor``,
    ``charts/*/templates`` and ``**/testdata/*`` all work as people expect.
    """
    parts = relative.split("/")
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        variants = (pattern, pattern[3:]) if pattern.startswith("**/") else (pattern,)
        if any(fnmatch.fnmatchcase(candidate, variant) for candidate in candidates for variant in variants):
            return True
    return False


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def expand_path(
    path: str, exclude: Sequence[str] = (), seen: set[str] | None = None
) -> Iterator[str | UnreadableManifest]:
    """The files one PATH names, in a stable order: a directory is walked recursively and sorted.

    ``exclude`` globs are matched against paths relative to ``path``. A path that does not exist, or a
    directory that cannot be listed, is yielded as an `UnreadableManifest`; ``-`` (stdin) as is. Files
    in ``seen`` (real paths) are not yielded again.
    """
    seen = set() if seen is None else seen
    if path == STDIN:
        yield path
    elif os.path.isdir(path):
        for found in _walk(path, exclude):
            if isinstance(found, UnreadableManifest):
                yield found
            elif os.path.realpath(found) not in seen:
                seen.add(os.path.realpath(found))
                yield found
    elif os.path.lexists(path):
        if not _excluded(Path(path).name, exclude) and os.path.realpath(path) not in seen:
            seen.add(os.path.realpath(path))
            yield path
    else:
        yield UnreadableManifest(path, "no such file or directory")


def expand_paths(paths: Sequence[str], exclude: Sequence[str] = ()) -> Iterator[str | UnreadableManifest]:
    """`expand_path` for each argument in turn, each file once."""
    seen: set[str] = set()
    for path in paths:
        yield from expand_path(path, exclude, seen)


def _walk(directory: str, exclude: Sequence[str]) -> Iterator[str | UnreadableManifest]:
    # os.walk skips a directory it cannot list unless told: that would pass CI without checking it.
    failures: list[OSError] = []
    for parent, dirs, files in os.walk(directory, onerror=failures.append):
        yield from _unlisted(failures)
        relative_parent = Path(os.path.relpath(parent, directory)).as_posix()
        prefix = "" if relative_parent == "." else f"{relative_parent}/"
        dirs[:] = sorted(name for name in dirs if not _excluded(prefix + name, exclude))
        for name in sorted(files):
            if Path(name).suffix.lower() in MANIFEST_SUFFIXES and not _excluded(prefix + name, exclude):
                yield os.path.join(parent, name)
    yield from _unlisted(failures)


def _unlisted(failures: list[OSError]) -> Iterator[UnreadableManifest]:
    for exc in failures:
        yield UnreadableManifest(str(exc.filename), f"cannot read the directory: {exc.strerror or exc}")
    failures.clear()


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MiB" if count >= 1024 * 1024 else f"{count:,} bytes"


def _too_large(path: str, size: str, max_file_bytes: int) -> ManifestFile:
    problem = (
        f"the file is {size}, over the {_size(max_file_bytes)} limit (--max-file-bytes); "
        "split it or raise the limit"
    )
    return ManifestFile(path, errors=(UnreadableManifest(path, problem),))


def read_file(path: str, max_file_bytes: int = MAX_FILE_BYTES, *, explicit: bool = True) -> ManifestFile:
    """Read and parse one file, or say why not; a non-regular file is never opened (a FIFO would block).

    ``explicit``: the user named the file; a non-regular file is then an error, else a skipping note.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        problem = f"cannot read the file: {exc.strerror or exc}"
        return ManifestFile(path, errors=(UnreadableManifest(path, problem),))
    if not stat.S_ISREG(info.st_mode):
        kind = _file_kind(info.st_mode)
        if explicit:
            problem = f"{kind}, not a regular file: give files, directories or - for stdin"
            return ManifestFile(path, errors=(UnreadableManifest(path, problem),))
        return ManifestFile(path, note=f"skipped: {kind}, not a regular file")
    if info.st_size > max_file_bytes:
        return _too_large(path, _size(info.st_size), max_file_bytes)
    try:
        with Path(path).open("rb") as stream:
            data = stream.read(max_file_bytes + 1)  # the file may have grown since stat
    except OSError as exc:
        problem = f"cannot read the file: {exc.strerror or exc}"
        return ManifestFile(path, errors=(UnreadableManifest(path, problem),))
    if len(data) > max_file_bytes:
        return _too_large(path, f"more than {_size(max_file_bytes)}", max_file_bytes)
    return parse_manifest(data, path)


def read_stdin(stream: BinaryIO, max_file_bytes: int = MAX_FILE_BYTES) -> ManifestFile:
    """Read and parse stdin, at most ``max_file_bytes``."""
    data = stream.read(max_file_bytes + 1)
    if len(data) > max_file_bytes:
        return _too_large(STDIN_NAME, f"more than {_size(max_file_bytes)}", max_file_bytes)
    return parse_manifest(data, STDIN_NAME)


def read_path(
    path: str,
    stdin: BinaryIO | None = None,
    *,
    exclude: Sequence[str] = (),
    max_file_bytes: int = MAX_FILE_BYTES,
    seen: set[str] | None = None,
) -> Iterator[ManifestFile]:
    """Read every file one PATH names, one `ManifestFile` each; never raises for bad input."""
    explicit = path == STDIN or not os.path.isdir(path)
    for found in expand_path(path, exclude, seen):
        if isinstance(found, UnreadableManifest):
            yield ManifestFile(found.path, errors=(found,))
        elif found == STDIN:
            yield read_stdin(stdin if stdin is not None else sys.stdin.buffer, max_file_bytes)
        else:
            yield read_file(found, max_file_bytes, explicit=explicit)


def read_manifests(
    paths: Sequence[str],
    stdin: BinaryIO | None = None,
    *,
    exclude: Sequence[str] = (),
    max_file_bytes: int = MAX_FILE_BYTES,
) -> Iterator[ManifestFile]:
    """Read every file the paths name, one `ManifestFile` each (each file once); never raises for bad
    input."""
    seen: set[str] = set()
    for path in paths:
        yield from read_path(path, stdin, exclude=exclude, max_file_bytes=max_file_bytes, seen=seen)
