"""A declarative, typed schema for YAML configuration, in the style of mkdocs' config options.

Each option has a type, a default and one line of doc. :func:`validate` checks a whole document
and collects every problem with its ``file:line`` instead of stopping at the first.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from bundler.config.yaml_lines import Document, LoadError, Where, load

REQUIRED = object()


class ConfigError(Exception):
    """A configuration is invalid; ``problems`` lists every one with file:line."""

    def __init__(self, problems: List[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Invalid(Exception):
    """Raised by an option for a value it cannot accept."""


class Option:
    """Base option: ``default`` (REQUIRED if none) and a one-line ``doc``."""

    expected = "a value"

    def __init__(self, default: Any = REQUIRED, doc: str = "") -> None:
        self.default = default
        self.doc = doc

    def convert(self, value: Any, where: Where, context: Document) -> Any:
        return value

    def run(self, value: Any, where: Where, context: Document) -> Any:
        try:
            return self.convert(value, where, context)
        except Invalid as exc:
            context.report(where, f"{_name(where)}: {exc}")
            return None


def _name(where: Where) -> str:
    return ".".join(str(part) if not isinstance(part, int) else f"[{part + 1}]" for part in where).replace(".[", "[")


class String(Option):
    def __init__(self, default: Any = REQUIRED, doc: str = "", max_length: Optional[int] = None, non_empty: bool = True):
        super().__init__(default, doc)
        self.max_length = max_length
        self.non_empty = non_empty

    def convert(self, value: Any, where: Where, context: Document) -> str:
        if not isinstance(value, str):
            raise Invalid(f"expected text, found {value!r}")
        if self.non_empty and not value.strip():
            raise Invalid("must not be empty")
        if self.max_length is not None and len(value) > self.max_length:
            raise Invalid(f"{len(value)} characters, the platform accepts at most {self.max_length}")
        return value


class Url(String):
    """An absolute http(s) address."""

    def convert(self, value: Any, where: Where, context: Document) -> str:
        text = super().convert(value, where, context)
        if not text.startswith(("https://", "http://")) or len(text.split("//", 1)[1].strip("/")) == 0:
            raise Invalid(f"expected an address starting with https://, found {value!r}")
        return text


class Integer(Option):
    def __init__(self, default: Any = REQUIRED, doc: str = "", minimum: int = 1):
        super().__init__(default, doc)
        self.minimum = minimum

    def convert(self, value: Any, where: Where, context: Document) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(f"expected a whole number, found {value!r}")
        if value < self.minimum:
            raise Invalid(f"must be at least {self.minimum}, found {value}")
        return value


class Boolean(Option):
    def convert(self, value: Any, where: Where, context: Document) -> bool:
        if not isinstance(value, bool):
            raise Invalid(f"expected true or false, found {value!r}")
        return value


class Choice(Option):
    def __init__(self, choices: Sequence[str], default: Any = REQUIRED, doc: str = ""):
        super().__init__(default, doc)
        self.choices = list(choices)

    def convert(self, value: Any, where: Where, context: Document) -> str:
        if value not in self.choices:
            hint = difflib.get_close_matches(str(value), self.choices, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise Invalid(f"{value!r} is not one of {', '.join(self.choices)}{extra}")
        return value


@dataclass(frozen=True)
class Moment:
    """A moment of the config: as an aware UTC datetime (``when``), and whether the organiser wrote a date alone."""

    when: dt.datetime
    date_only: bool = False

    @property
    def text(self) -> str:
        """How pages and messages show it, always in UTC: a date alone that starts something as written
        (``2027-03-01``), any other moment with its time and zone (``2027-06-15 23:59:59 UTC``)."""
        if self.date_only and self.when.time() == dt.time(0):
            return self.when.strftime("%Y-%m-%d")
        return self.when.strftime("%Y-%m-%d %H:%M:%S UTC" if self.when.second else "%Y-%m-%d %H:%M UTC")


END_OF_DAY = dt.timedelta(days=1, seconds=-1)  # from 00:00 to 23:59:59 of the same day


def utc_moment(value: Any) -> dt.datetime:
    """A YAML date or datetime, or ISO 8601 text, as an aware UTC datetime (a date alone: 00:00 UTC; no zone: UTC).

    The one reader of dates, for competition.yaml, event.yaml and the bundles ``check`` reads. Raises TypeError for
    another type, ValueError for text that is no date, OverflowError for a moment out of range.
    """
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        raise TypeError(f"expected a date, found {type(value).__name__}")
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)


class Date(Option):
    """ISO 8601 date, or date and time with ``Z`` or an offset; a date alone means 00:00 UTC, or 23:59:59 UTC for a
    moment that ends something (``ends=True``: the whole day the organiser named counts)."""

    def __init__(self, default: Any = REQUIRED, doc: str = "", ends: bool = False):
        super().__init__(default, doc)
        self.ends = ends

    def convert(self, value: Any, where: Where, context: Document) -> Moment:
        text = context.raw.get(where, str(value))
        try:
            when = utc_moment(value)
            date_only = not isinstance(value, dt.datetime) and (isinstance(value, dt.date) or len(value.strip()) <= 10)
            if not date_only and _naive(value):
                raise Invalid(f"{text!r} has a time but no time zone: write {text.strip().replace(' ', 'T')}Z for UTC, or "
                              f"an offset such as +02:00 (a date alone means 00:00 UTC)")
            return Moment(when + END_OF_DAY if date_only and self.ends else when, date_only)
        except TypeError:
            raise Invalid(f"expected an ISO 8601 date such as 2027-03-01, found {value!r}") from None
        except OverflowError:
            raise Invalid(f"{text!r} is out of the range of dates") from None
        except ValueError as exc:
            why = f" ({exc})" if "range" in str(exc) else ""  # e.g. the 30th of February
            raise Invalid(f"{value!r} is not a valid ISO 8601 date such as 2027-03-01 or 2027-03-01T12:00:00Z{why}") from None


class Misplaced(Option):
    """A key that is valid elsewhere but not here: any value is an error explaining ``why``."""

    def __init__(self, why: str) -> None:
        super().__init__(None, why)

    def message(self, value: Any, where: Where, context: Document) -> str:
        """What the error says about the value written."""
        return self.doc

    def convert(self, value: Any, where: Where, context: Document) -> Any:
        raise Invalid(self.message(value, where, context))


class Renamed(Misplaced):
    """A key of an earlier version (like mkdocs' ``Deprecated(moved_to=...)``): writing it is an error naming the new key."""

    def __init__(self, moved_to: str, note: str = "") -> None:
        super().__init__(f"renamed to {moved_to}")
        self.moved_to = moved_to
        self.note = note

    def message(self, value: Any, where: Where, context: Document) -> str:
        return f"renamed to {self.moved_to}: write '{self.moved_to}: {context.raw.get(where, value)}'{self.note}"


def _naive(value: Any) -> bool:
    """Whether a date and time was written without a zone."""
    if isinstance(value, dt.datetime):
        return value.tzinfo is None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None


class File(Option):
    """A file path relative to the config's folder; it must exist."""

    def convert(self, value: Any, where: Where, context: Document) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"expected a file path, found {value!r}")
        path = resolve(context.file.parent, value)
        if not path.is_file():
            raise Invalid(f"file {value!r} not found (paths are relative to {context.file.parent})")
        return path


def resolve(folder: Path, value: str) -> Path:
    """``value`` (``~`` expanded) as an absolute path relative to ``folder``; Invalid for an impossible path."""
    try:
        return (folder / Path(value).expanduser()).resolve()
    except (ValueError, OSError, RuntimeError) as exc:  # a NUL byte, an unknown ~user, a loop of links
        raise Invalid(f"{value!r} is not a usable path ({exc})") from None


class ListOf(Option):
    def __init__(self, item: Option, default: Any = REQUIRED, doc: str = "", min_items: int = 1):
        super().__init__(default, doc)
        self.item = item
        self.min_items = min_items

    def convert(self, value: Any, where: Where, context: Document) -> List[Any]:
        if not isinstance(value, list):
            raise Invalid(f"expected a list, found {type(value).__name__}")
        if len(value) < self.min_items:
            raise Invalid(f"needs at least {self.min_items} item(s)")
        return [self.item.run(item, where + (i,), context) for i, item in enumerate(value)]


class MappingOf(Option):
    """A mapping of free keys (text) to values of one option."""

    def __init__(self, value: Option, default: Any = REQUIRED, doc: str = ""):
        super().__init__(default, doc)
        self.value = value

    def convert(self, value: Any, where: Where, context: Document) -> Dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(f"expected a mapping of names to values, found {type(value).__name__}")
        return {str(key): self.value.run(item, where + (key,), context) for key, item in value.items()}


class SubConfig(Option):
    """A nested mapping with its own schema; returns an object with one attribute per option."""

    def __init__(self, schema: Dict[str, Option], default: Any = REQUIRED, doc: str = "",
                 check: Optional[Callable[[Any, Where, Document], None]] = None):
        super().__init__(default, doc)
        self.schema = schema
        self.check = check

    def convert(self, value: Any, where: Where, context: Document) -> Any:
        result = validate_mapping(self.schema, value, where, context)
        if self.check is not None and result is not None:
            self.check(result, where, context)
        return result


class Values:
    """Validated values of a SubConfig, as attributes."""

    def __init__(self, values: Dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"Values({self.__dict__!r})"


def validate_mapping(schema: Dict[str, Option], data: Any, where: Where, context: Document) -> Optional[Values]:
    """Check ``data`` against ``schema``, reporting every problem; defaults fill missing keys."""
    if not isinstance(data, dict):
        context.report(where, f"{_name(where) or 'the file'}: expected a mapping of keys to values")
        return None
    values: Dict[str, Any] = {}
    for key in data:
        if key not in schema:
            hint = difflib.get_close_matches(str(key), list(schema), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else f"; known keys: {', '.join(schema)}"
            context.report(where + (key,), f"unknown key {_name(where + (key,))!r}{extra}")
    for key, option in schema.items():
        if key in data and data[key] is not None:
            values[key] = option.run(data[key], where + (key,), context)
            if values[key] is None and option.default is not REQUIRED:
                values[key] = option.default  # invalid, and reported: cross-checks see the default, not None
        elif option.default is REQUIRED:
            context.report(where, f"{_name(where + (key,))} is required: {option.doc}")
            values[key] = None
        else:
            values[key] = option.default
    return Values(values)


def validate_file(schema: Dict[str, Option], path: Path) -> Tuple[Optional[Values], Document]:
    """Load the YAML file at ``path`` and check it against ``schema``; unreadable YAML is a ConfigError.

    The returned document holds every problem found, loading's and validation's.
    """
    try:
        document = load(path)
    except LoadError as exc:
        raise ConfigError([str(exc)]) from None
    return validate_mapping(schema, document.data, (), document), document
