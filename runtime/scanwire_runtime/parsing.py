"""Lenient parsers for the value formats the specs mark with `x-format` / `x-unit`.

- `dotnet-timespan` (Invicti `Duration`): .NET TimeSpan text `[-][d.]hh:mm:ss[.fffffff]`;
- `json-string` (Invicti `ExcludedLinks`, `DisallowedHttpMethods`): JSON text inside a string;
- `locale-datetime` (Invicti `InitiatedTime` "22/03/2024 01:56 PM", `InitiatedDate`): the user's
  preferred format, day first unless told otherwise;
- `epoch-ms` (ThreadFix `time`, `modifiedDate`): milliseconds since 1970 UTC;
- .NET DateTime text (AppSpider `StartTime` without offset, Invicti's 7 fraction digits).

`decode(value, fmt)` picks the parser by the spec's name for the format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

_Absent = TypeVar("_Absent")  # None or a package's Unset: what a missing date stays

__all__ = [
    "DAY_FIRST_FORMATS",
    "MONTH_FIRST_FORMATS",
    "WireDateTime",
    "decode",
    "dump_wire_datetime",
    "load_wire_datetime",
    "parse_dotnet_datetime",
    "parse_dotnet_timespan",
    "parse_epoch_ms",
    "parse_json_string",
    "parse_locale_datetime",
]

_TIMESPAN = re.compile(
    r"^(?P<sign>-)?(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{2}):(?P<seconds>\d{2})"
    r"(?:\.(?P<fraction>\d{1,7}))?$"
)
_DAYS_ONLY = re.compile(r"^(?P<sign>-)?(?P<days>\d+)$")
_MS_DATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/$")

DAY_FIRST_FORMATS = (
    "%d/%m/%Y %I:%M %p",
    "%d/%m/%Y %I:%M:%S %p",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)
MONTH_FIRST_FORMATS = (
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)


def parse_dotnet_timespan(text: str) -> timedelta:
    """`"00:23:46.6821882"`, `"1.03:12:45.5000000"`, `"00:05:00"`, `"-00:00:01"`, `"2"` (days)."""
    raw = text.strip()
    match = _TIMESPAN.match(raw)
    if match is None:
        days_only = _DAYS_ONLY.match(raw)
        if days_only is None:
            raise ValueError(f"not a .NET TimeSpan ([-][d.]hh:mm:ss[.fffffff]): {text!r}")
        value = timedelta(days=int(days_only["days"]))
        return -value if days_only["sign"] else value
    hours, minutes, seconds = int(match["hours"]), int(match["minutes"]), int(match["seconds"])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"not a .NET TimeSpan (hours < 24, minutes and seconds < 60): {text!r}")
    # Seven digits are 100 ns ticks; timedelta keeps microseconds, so the last digit is dropped.
    micro = int((match["fraction"] or "0").ljust(7, "0")[:6])
    value = timedelta(
        days=int(match["days"] or 0), hours=hours, minutes=minutes, seconds=seconds, microseconds=micro
    )
    return -value if match["sign"] else value


def parse_json_string(text: str | None, default: Any = None) -> Any:
    """The JSON value inside a string field; `default` for None or an empty string."""
    if text is None or not text.strip():
        return default
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON text: {text[:80]!r} ({exc})") from None


def parse_epoch_ms(value: int | float | str) -> datetime:
    """An aware UTC datetime from milliseconds since the epoch."""
    return datetime.fromtimestamp(float(value) / 1000.0, tz=UTC)


def parse_dotnet_datetime(text: str, assume: timezone | None = None) -> datetime:
    """ISO 8601 with up to 7 fraction digits, with or without offset, or `/Date(ms[+hhmm])/`.

    Without an offset the result is naive unless `assume` gives the zone the server meant.
    """
    raw = text.strip()
    legacy = _MS_DATE.match(raw)
    if legacy is not None:
        value = parse_epoch_ms(legacy["ms"])
        if legacy["offset"]:
            sign = -1 if legacy["offset"][0] == "-" else 1
            hours, minutes = int(legacy["offset"][1:3]), int(legacy["offset"][3:5])
            value = value.astimezone(timezone(sign * timedelta(hours=hours, minutes=minutes)))
        return value
    fixed = re.sub(r"(\.\d{6})\d+", r"\1", raw)
    try:
        value = datetime.fromisoformat(fixed)
    except ValueError:
        raise ValueError(f"not an ISO 8601 / .NET date-time: {text!r}") from None
    if value.tzinfo is None and assume is not None:
        value = value.replace(tzinfo=assume)
    return value


def parse_locale_datetime(
    text: str,
    *,
    day_first: bool = True,
    formats: Sequence[str] | None = None,
    assume: timezone | None = None,
) -> datetime:
    """A date or date-time in a user's preferred format ("22/03/2024 01:56 PM", "22/03/2024").

    ISO 8601 is tried first; then `formats` (default: day-first formats, or month-first ones with
    `day_first=False`). The result is naive unless `assume` gives the zone.
    """
    raw = " ".join(text.split())
    candidates = formats or (DAY_FIRST_FORMATS if day_first else MONTH_FIRST_FORMATS)
    value: datetime | None = None
    try:
        value = parse_dotnet_datetime(raw)
    except ValueError:
        for fmt in candidates:
            try:
                value = datetime.strptime(raw, fmt)
                break
            except ValueError:
                continue
    if value is None:
        raise ValueError(f"date-time {text!r} matches none of the formats {', '.join(candidates)}")
    if value.tzinfo is None and assume is not None:
        value = value.replace(tzinfo=assume)
    return value


def decode(value: Any, fmt: str) -> Any:
    """Parse `value` by the spec's format name; None stays None."""
    if value is None:
        return None
    if fmt == "dotnet-timespan":
        return parse_dotnet_timespan(str(value))
    if fmt == "json-string":
        return parse_json_string(str(value))
    if fmt == "locale-datetime":
        return parse_locale_datetime(str(value))
    if fmt == "epoch-ms":
        return parse_epoch_ms(value)
    if fmt == "dotnet-datetime":
        return parse_dotnet_datetime(str(value))
    raise ValueError(f"unknown format {fmt!r}")


class WireDateTime(datetime):
    """A datetime read from a vendor's own date format that remembers the text or number it came from, so
    a model written back (`to_dict`) sends exactly what the server sent."""

    wire: str | int

    @classmethod
    def of(cls, value: datetime, wire: str | int) -> WireDateTime:
        made = cls(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            value.tzinfo,
            fold=value.fold,
        )
        made.wire = wire
        return made


# Kinds of the spec's date annotations (templates/openapi-python-client/model.py.jinja): `x-unit: epoch-ms`
# on an integer (ThreadFix), `x-format: dotnet-datetime` on a string (AppSpider's .NET DateTime text).
DATE_KINDS = ("epoch-ms", "dotnet-datetime")


def load_wire_datetime(value: str | int | _Absent, kind: str) -> datetime | _Absent:
    """A generated model's date field from the wire value (None/Unset stay as they are)."""
    if not isinstance(value, str | int):
        return value
    parsed = parse_epoch_ms(value) if kind == "epoch-ms" else parse_dotnet_datetime(str(value))
    return WireDateTime.of(parsed, value)


def dump_wire_datetime(value: datetime | _Absent, kind: str) -> str | int | _Absent:
    """The wire value of a date field: what was read, else the vendor's format of a datetime set in code."""
    if not isinstance(value, datetime):
        return value
    if isinstance(value, WireDateTime):
        return value.wire
    if kind == "epoch-ms":
        return round(value.timestamp() * 1000)
    return value.isoformat()
