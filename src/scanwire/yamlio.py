"""YAML in and out for specs and overlays: strict loading with line numbers, stable dumping."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "Problem",
    "SourceError",
    "YamlDocument",
    "dump_yaml",
    "known",
    "load_yaml",
    "loads_yaml",
    "remember",
]


@dataclass(frozen=True)
class Problem:
    """One finding about a file: where it is (file, line, JSON path) and what is wrong."""

    file: Path
    line: int | None
    where: str
    message: str
    rule: str = "invalid"

    def __str__(self) -> str:
        loc = f"{self.file}:{self.line}" if self.line else str(self.file)
        at = f" at {self.where}" if self.where else ""
        return f"{loc}: [{self.rule}]{at}: {self.message}"


class SourceError(Exception):
    """A file could not be used; carries every problem found, each naming file and line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[SourceError], tuple[list[Problem]]]:
        # Rebuilt from the problems, not from the message (generation workers send it back pickled).
        return (SourceError, (self.problems,))


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    """SafeConstructor's mapping, refusing duplicate keys (naming the line of the first one)."""
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r} (first defined on line {seen[key].start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node
    mapping: dict[Any, Any] = yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)
    return mapping


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and keeps timestamps as the strings that were written."""

    construct_mapping = _construct_mapping


# Example payloads carry ISO timestamps that must stay strings for schema validation.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# The same rules on libyaml's parser (about 8x faster on the specs) when PyYAML was built with it. Any
# error is re-read by the pure-Python loader so messages and line numbers stay exactly the same.
_FastLoader: type[Any] = _StrictLoader
_FastDumperBase: type[Any] = yaml.SafeDumper
if hasattr(yaml, "CSafeLoader"):

    class _CStrictLoader(yaml.CSafeLoader):
        construct_mapping = _construct_mapping

    _CStrictLoader.yaml_implicit_resolvers = _StrictLoader.yaml_implicit_resolvers
    _FastLoader = _CStrictLoader
    _FastDumperBase = yaml.CSafeDumper


# A folder remembering parsed documents and dumped texts between runs (`use_cache`; scanwire generate sets
# `.scanwire/cache/yaml` of the checkout). A parse is keyed by the text's sha-256 and stored with marshal
# (exact types, 50x faster to read back than YAML); a dump is keyed by the sha-256 of the data's repr
# (types and order included). Only successes are stored; anything unreadable is parsed/dumped again.
_CACHE: Path | None = None
# Entries are only valid for these loading/dumping rules: the salt holds this module's own source, so any
# change to them (and PyYAML's version, and the parser in use) makes every old entry a miss.
_CACHE_SALT = (
    f"pyyaml {yaml.__version__} {_FastLoader.__name__} "
    f"{hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}\n"
)


def use_cache(folder: Path | None) -> None:
    """Remember parsed and dumped YAML in `folder` (None: no cache)."""
    global _CACHE
    _CACHE = folder


def _cached(kind: str, key_text: str) -> tuple[Path | None, bytes | None]:
    if _CACHE is None:
        return None, None
    key = hashlib.sha256((_CACHE_SALT + kind + "\n" + key_text).encode()).hexdigest()
    path = _CACHE / f"{kind}-{key}"
    try:
        return path, path.read_bytes()
    except OSError:
        return path, None


def _store(path: Path | None, data: bytes) -> None:
    if path is None:
        return
    with contextlib.suppress(OSError):  # a read-only checkout works without the cache
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        partial.replace(path)


def known(kind: str, key_text: str) -> bool:
    """Whether `remember(kind, key_text)` was called with the same cache folder (False without one)."""
    return _cached(kind, key_text)[1] is not None


def remember(kind: str, key_text: str) -> None:
    """Remember a fact about `key_text` (e.g. "this overlay is valid") in the cache folder, if there is one.
    The caller puts into `key_text` everything the fact depends on; only facts worth keeping go here
    (a document's problems are never remembered, so their messages stay fresh)."""
    path, _ = _cached(kind, key_text)
    _store(path, b"")


def _load(text: str) -> Any:
    path, hit = _cached("load", text)
    if hit is not None:
        with contextlib.suppress(ValueError, EOFError, TypeError):
            return marshal.loads(hit)
    data = _parse(text)
    with contextlib.suppress(ValueError):  # a type marshal cannot carry: not cached
        _store(path, marshal.dumps(data))
    return data


def _parse(text: str) -> Any:
    if _FastLoader is not _StrictLoader:
        try:
            return yaml.load(text, Loader=_FastLoader)
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=_StrictLoader)


def _json_path(parts: Sequence[Any]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f"[{str(part)!r}]"
    return out


class YamlDocument:
    """A loaded YAML file plus a way back from a path inside it to the line it was written on."""

    def __init__(self, path: Path, text: str, data: Any) -> None:
        self.path = path
        self.text = text
        self.data = data
        self._node: yaml.Node | None = None

    def line_of(self, parts: Sequence[Any]) -> int | None:
        """1-based line of the deepest node of `parts` that exists in the file."""
        if self._node is None:
            self._node = yaml.compose(self.text, Loader=_StrictLoader)
        node = self._node
        best = node.start_mark.line + 1 if node is not None else None
        for part in parts:
            nxt = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == str(part):
                        nxt = value_node
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                nxt = node.value[part]
            if nxt is None:
                break
            node = nxt
            best = node.start_mark.line + 1
        return best

    def problem(self, parts: Sequence[Any], message: str, rule: str = "invalid") -> Problem:
        return Problem(self.path, self.line_of(parts), _json_path(parts), message, rule)


def loads_yaml(text: str) -> Any:
    """Parse YAML text with the same strict rules as load_yaml (timestamps stay strings)."""
    return _load(text)


def load_yaml(path: Path, what: str = "YAML document") -> YamlDocument:
    """Load a YAML file strictly; any problem is a SourceError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError([Problem(path, None, "", f"{what} not found", "missing")]) from None
    except UnicodeDecodeError as exc:
        raise SourceError([Problem(path, None, "", f"not UTF-8 text: {exc}", "encoding")]) from None
    try:
        data = _load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise SourceError([Problem(path, line, "", f"{what} is not valid YAML: {msg}", "yaml")]) from None
    except yaml.YAMLError as exc:
        raise SourceError([Problem(path, None, "", f"{what} is not valid YAML: {exc}", "yaml")]) from None
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "empty"
        raise SourceError([Problem(path, 1, "", f"{what} must be a mapping, found {kind}", "yaml")])
    return YamlDocument(path, text, data)


class _Dumper(_FastDumperBase):  # type: ignore[misc]  # libyaml's emitter when present: same bytes, faster
    """Block style, keys in the order written, long strings never folded mid-word."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = (
        "|" if "\n" in value and not any(c in value for c in "\r\t") and value == value.strip(" ") else None
    )
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def dump_yaml(data: Any) -> str:
    """Deterministic YAML text (same input, same bytes) that round-trips through load_yaml."""
    path, hit = _cached("dump", repr(data)) if _CACHE is not None else (None, None)
    if hit is not None:
        with contextlib.suppress(UnicodeDecodeError):
            return hit.decode("utf-8")
    text: str = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    _store(path, text.encode("utf-8"))
    return text
