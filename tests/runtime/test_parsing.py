"""Lenient parsers (runtime/parsing.py) for the formats the specs mark: .NET TimeSpan, JSON in a string,
locale date-times, epoch milliseconds, .NET date-times — checked on the seed's own values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from scanwire_runtime.parsing import (
    decode,
    parse_dotnet_datetime,
    parse_dotnet_timespan,
    parse_epoch_ms,
    parse_json_string,
    parse_locale_datetime,
)

from .conftest import example


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:23:46.6821882", timedelta(minutes=23, seconds=46, microseconds=682188)),
        ("1.03:12:45.5000000", timedelta(days=1, hours=3, minutes=12, seconds=45, microseconds=500000)),
        ("00:05:00", timedelta(minutes=5)),
        ("12.00:00:00", timedelta(days=12)),
        ("-00:00:01.5", -timedelta(seconds=1, microseconds=500000)),
        ("3", timedelta(days=3)),
        ("1:02:03", timedelta(hours=1, minutes=2, seconds=3)),
    ],
)
def test_dotnet_timespan(text: str, expected: timedelta) -> None:
    assert parse_dotnet_timespan(text) == expected


@pytest.mark.parametrize(
    "text", ["", "23:46", "00:61:00", "25:00:00", "1.2.03:00:00", "00:00:00.12345678", "PT5M"]
)
def test_dotnet_timespan__rejects(text: str) -> None:
    with pytest.raises(ValueError, match="TimeSpan"):
        parse_dotnet_timespan(text)


def test_json_string() -> None:
    assert parse_json_string('["gtm\\\\.js", "x"]') == ["gtm\\.js", "x"]
    assert parse_json_string("[]") == []
    assert parse_json_string("") is None and parse_json_string(None, default=[]) == []
    with pytest.raises(ValueError, match="not JSON text"):
        parse_json_string("[unclosed")


def test_locale_datetime() -> None:
    assert parse_locale_datetime("22/03/2024 01:56 PM") == datetime(2024, 3, 22, 13, 56)
    assert parse_locale_datetime("22/03/2024") == datetime(2024, 3, 22)
    assert parse_locale_datetime("03/22/2024 00:00:00", day_first=False) == datetime(2024, 3, 22)
    assert parse_locale_datetime("2024-03-22T13:56:26Z") == datetime(2024, 3, 22, 13, 56, 26, tzinfo=UTC)
    plus2 = timezone(timedelta(hours=2))
    assert parse_locale_datetime("22.03.2024 13:56", assume=plus2) == datetime(
        2024, 3, 22, 13, 56, tzinfo=plus2
    )
    with pytest.raises(ValueError, match="matches none of the formats"):
        parse_locale_datetime("March 22nd")


def test_epoch_ms() -> None:
    assert parse_epoch_ms(1711115786682) == datetime(2024, 3, 22, 13, 56, 26, 682000, tzinfo=UTC)
    assert parse_epoch_ms("0") == datetime(1970, 1, 1, tzinfo=UTC)


def test_dotnet_datetime() -> None:
    assert parse_dotnet_datetime("2024-03-22T13:56:26.6821882+00:00") == datetime(
        2024, 3, 22, 13, 56, 26, 682188, tzinfo=UTC
    )
    assert parse_dotnet_datetime("2024-04-02T14:11:09.317") == datetime(2024, 4, 2, 14, 11, 9, 317000)
    assert parse_dotnet_datetime("/Date(1711115786682)/") == datetime(
        2024, 3, 22, 13, 56, 26, 682000, tzinfo=UTC
    )
    assert parse_dotnet_datetime("/Date(0+0200)/").utcoffset() == timedelta(hours=2)


def test_the_invicti_seed_scan_decodes_by_its_spec_formats() -> None:
    scan = example("invicti-listScans-notes-first-page")["List"][0]
    assert isinstance(decode(scan["Duration"], "dotnet-timespan"), timedelta)
    assert isinstance(decode(scan["ExcludedLinks"], "json-string"), list)
    assert isinstance(decode(scan["InitiatedTime"], "locale-datetime"), datetime)
    assert decode(None, "epoch-ms") is None
    with pytest.raises(ValueError, match="unknown format"):
        decode("x", "roman-numerals")
