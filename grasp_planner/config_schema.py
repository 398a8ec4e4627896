"""One strict reader for every YAML config (planner, sim, table world, dataset, training).

A config is a frozen dataclass whose field annotations are its schema. :func:`load` reads a file
and :func:`build` turns a mapping into the dataclass; both refuse, with a :class:`ConfigError`
whose text is one line naming the file and the key, what YAML and ``**kwargs`` accept silently:
malformed YAML, a duplicated key, a document that is not a mapping, an empty file, an unknown or
missing key, and a value of the wrong type (``max_iter: forty``, ``n_starts: 2.5``,
``enabled: "no"``). Range checks stay in each dataclass's ``__post_init__``; their ValueErrors
come back as ConfigErrors with the file in front.

Types understood: ``bool``, ``int``, ``float`` (an integer is accepted and converted), ``str``,
``dict``, ``tuple``/``list``, ``X | None`` and nested dataclasses (a section). numpy-free, torch-free.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path

import yaml


class ConfigError(ValueError):
    """A config that cannot be used; ``str(error)`` is one line naming the file and the key."""


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error."""


def _mapping_without_duplicates(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"malformed YAML{where}: {problem}"


def read_yaml(path, what: str, empty_hint: str = "") -> dict:
    """The top-level mapping of a YAML file; ConfigError for anything else.

    Parameters
    ----------
    path : the file.
    what : what the file configures ("planner", "training", ...), for the messages.
    empty_hint : added to the message for an empty file (or one of only comments), which is an
        error: a config whose keys all have defaults says so explicitly with ``{}``.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} config {path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the {what} config ({exc})") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {_yaml_problem(exc)}") from None
    if data is None:
        raise ConfigError(f"{path}: the {what} config is empty; write its settings{empty_hint}")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a {what} config must be a mapping of keys, got {_kind(data)}")
    return data


def load(cls, path, what: str):
    """``build(cls, read_yaml(path, what), source=path)``: a config dataclass from a YAML file."""
    all_default = not any(_required(f) for f in dataclasses.fields(cls))
    return build(cls, read_yaml(path, what, " (or {} for every default)" if all_default else ""), source=str(path))


def build(cls, values, source: str = "config", section: str = ""):
    """An instance of the dataclass ``cls`` from a mapping, checked key by key.

    Parameters
    ----------
    cls : a dataclass; fields without a default are required, dataclass-typed fields are sections.
    values : the mapping (a YAML document or one of its sections).
    source : the file, at the start of every message.
    section : dotted name of ``values`` inside the file ("" for the top level).

    Raises
    ------
    ConfigError naming ``source`` and the key: unknown, missing, or of the wrong type; or the
    ValueError of ``cls.__post_init__`` with ``source`` in front.
    """
    where = f" in section '{section}'" if section else ""
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: {_label(section) or 'the config'} must be a mapping of keys, "
                          f"got {_kind(values)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = [key for key in values if key not in fields]
    if unknown:
        raise ConfigError(f"{source}: unknown key {_quoted(unknown)}{where}{_suggest(unknown, fields)}; "
                          f"known: {', '.join(fields)}")
    missing = [name for name, f in fields.items() if name not in values and _required(f)]
    if missing:
        raise ConfigError(f"{source}: missing key {_quoted(missing)}{where}")
    converted = {}
    for key, value in values.items():
        name = f"{section}.{key}" if section else key
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            if value is None:
                or_default = "" if _required(fields[key]) else ", or leave the section out for its defaults"
                raise ConfigError(f"{source}: section '{name}' is empty; give its keys{or_default}")
            converted[key] = build(kind, value, source, name)
        else:
            converted[key] = check_value(value, kind, name, source)
    try:
        return cls(**converted)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {str(exc).splitlines()[0]}") from None


def check_value(value, kind, name: str, source: str = "config"):
    """``value`` as the annotation ``kind`` wants it (an int becomes a float), else ConfigError naming ``name``."""
    ok, converted = _convert(value, kind)
    if not ok:
        hint = ""
        if _accepts(kind, float) and isinstance(value, str) and _parses_as_float(value):
            hint = f" (YAML reads {value} as text; write it with a decimal point, e.g. 1.0e-3)"
        raise ConfigError(f"{source}: '{name}' must be {_expected(kind)}, got {_shown(value)}{hint}")
    return converted


# --- types -----------------------------------------------------------------------------------------
def _members(kind) -> tuple:
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        return typing.get_args(kind)
    return (kind,)


def _accepts(kind, simple) -> bool:
    return any((typing.get_origin(m) or m) is simple for m in _members(kind))


def _convert(value, kind) -> tuple[bool, object]:
    for member in _members(kind):
        base = typing.get_origin(member) or member
        if member is type(None) or member is None:
            if value is None:
                return True, None
        elif base is bool:
            if isinstance(value, bool):
                return True, value
        elif base is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return True, value
        elif base is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return True, float(value)
        elif base is str:
            if isinstance(value, str):
                return True, value
        elif base is dict:
            if isinstance(value, dict):
                return True, value
        elif base in (tuple, list):
            if isinstance(value, (list, tuple)):
                return True, base(value)
        elif base is typing.Any:
            return True, value
        else:
            raise TypeError(f"config_schema does not know the annotation {member!r}")
    return False, None


_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "text", dict: "a mapping",
          tuple: "a list", list: "a list", type(None): "null"}


def _expected(kind) -> str:
    names = [_NAMES.get(typing.get_origin(m) or m, getattr(m, "__name__", str(m))) for m in _members(kind)]
    return " or ".join(dict.fromkeys(names))


def _kind(value) -> str:
    if value is None:
        return "nothing (null)"
    return {bool: "true/false", int: "an integer", float: "a number", str: f"the text {value!r}",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _shown(value) -> str:
    """A value as YAML writes it (true, null); everything else as Python's repr (strings quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else repr(value)


def _parses_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _label(section: str) -> str:
    return f"section '{section}'" if section else ""


def _quoted(keys) -> str:
    return ", ".join(f"'{k}'" for k in keys)


def _suggest(unknown, fields) -> str:
    close = difflib.get_close_matches(str(unknown[0]), list(fields), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
