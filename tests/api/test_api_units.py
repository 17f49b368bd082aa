"""Small pure pieces: FHIR date search ranges, and cursors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.errors import InvalidRequest
from api.fhir.search import parse_codes, parse_dates, parse_patient
from api.pagination import CURSOR_ID, CURSOR_TIME, decode_cursor, encode_cursor


def test_fhir_dates_are_local_day_ranges():
    bounds = [
        (b.op, b.at.astimezone(UTC))
        for b in parse_dates(["ge2026-03-01", "le2026-07-01"], "Europe/Copenhagen")
    ]
    assert bounds == [
        (">=", datetime(2026, 2, 28, 23, tzinfo=UTC)),  # CET midnight
        ("<", datetime(2026, 7, 1, 22, tzinfo=UTC)),
    ]  # end of 1 July, CEST
    [(op, at)] = [(b.op, b.at) for b in parse_dates(["gt2026-03-01T10:15:00Z"], "Europe/Copenhagen")]
    assert (op, at) == (">=", datetime(2026, 3, 1, 10, 15, 1, tzinfo=UTC))
    assert len(parse_dates(["2026-03"], "UTC")) == 2  # eq: both ends of the month
    for bad in ("ge2026-02-30", "2026/03/01", "sa2026-01-01", "ge1066-10-14"):
        with pytest.raises(InvalidRequest):
            parse_dates([bad], "UTC")


def test_fhir_codes_and_patients():
    assert parse_codes(["85354-9,http://loinc.org|8867-4"]) == ["bp", "hr"]
    assert parse_codes(["http://snomed.info/sct|85354-9", "|8867-4", "1234-5"]) == []
    assert parse_patient("Patient/42") == parse_patient("42") == 42
    with pytest.raises(InvalidRequest):
        parse_patient("Practitioner/42")


def test_cursors_round_trip_and_refuse_forgeries():
    at = datetime(2026, 3, 1, 7, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, 17), CURSOR_TIME, CURSOR_ID) == [at, 17]
    for forged in (
        "",
        "e30",
        encode_cursor("yesterday", 17),
        encode_cursor(at, "1; DROP TABLE"),
        encode_cursor(at, 2**64),
    ):
        with pytest.raises(InvalidRequest):
            decode_cursor(forged, CURSOR_TIME, CURSOR_ID)
