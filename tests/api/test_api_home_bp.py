"""The home blood-pressure report: hand-computed clinical examples (ESH protocol).

Times are written in Copenhagen local time and converted, so the sessions read naturally:
March 2026 is CET (UTC+1) until the DST change on 29 March.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from api_support import bearer, insert_reading, principals

from api.reports.home_bp import BpReading, Exclusion, Session, bp_session, home_bp_report
from tests.support.factories import insert_device

CPH = ZoneInfo("Europe/Copenhagen")


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A Copenhagen wall-clock time in 2026, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=CPH).astimezone(UTC)


def bp(when: datetime, systolic: float | None, diastolic: float | None, **extra: object) -> BpReading:
    return BpReading(
        reading_id=f"r-{when:%d%H%M}-{systolic}",
        measured_at=when,
        systolic=systolic,
        diastolic=diastolic,
        pulse_rate=extra.pop("pulse", 70),
        **extra,
    )  # type: ignore[arg-type]


def protocol_week() -> list[BpReading]:
    """Seven days, duplicate morning and evening readings, the ESH way (2-8 March 2026)."""
    rows = [bp(at(2, 7, 0), 160, 100), bp(at(2, 7, 2), 158, 98)]  # day 1: high, and discarded
    for day in range(3, 9):
        rows += [
            bp(at(day, 7, 0), 140, 90),
            bp(at(day, 7, 2), 138, 88),
            bp(at(day, 21, 0), 130, 80),
            bp(at(day, 21, 2), 128, 78),
        ]
    return rows


def test_protocol_week_hand_computed():
    report = home_bp_report(protocol_week(), end=date(2026, 3, 8), days=7)

    assert report.start == date(2026, 3, 2) and report.discarded_day == date(2026, 3, 2)
    assert report.overall.count == 24 and report.days_with_readings == 6
    # Morning: 140, 138 six times -> mean 139; deviations +-1 -> SD sqrt(12/11).
    assert report.morning.count == 12
    assert report.morning.systolic_mean == pytest.approx(139)
    assert report.morning.diastolic_mean == pytest.approx(89)
    assert report.morning.systolic_sd == pytest.approx(math.sqrt(12 / 11))
    assert report.evening.systolic_mean == pytest.approx(129)
    assert report.evening.diastolic_mean == pytest.approx(79)
    # Overall: 140, 138, 130, 128 per day -> mean 134; squares 36+16+16+36 = 104 a day -> SD sqrt(624/23).
    assert report.overall.systolic_mean == pytest.approx(134)
    assert report.overall.diastolic_mean == pytest.approx(84)
    assert report.overall.systolic_sd == pytest.approx(math.sqrt(624 / 23))
    assert report.overall.diastolic_sd == pytest.approx(math.sqrt(624 / 23))
    assert report.overall.pulse_mean == pytest.approx(70)
    # 134/84 is just below 135/85. Had day 1 (159/99) counted, the mean would be 135.6/85.6: elevated.
    assert report.classification == "not_elevated" and report.meets_protocol_minimum
    assert report.missing_sessions == []
    assert [w.code for w in report.warnings] == ["first_day_discarded"]
    assert [r.excluded for r in report.readings[:2]] == [Exclusion.FIRST_DAY] * 2


def test_day_one_is_the_first_day_with_readings_not_the_first_day_of_the_period():
    report = home_bp_report(protocol_week()[2:], end=date(2026, 3, 9), days=8)  # 1-9 March, starts on the 3rd
    assert report.start == date(2026, 3, 2)
    assert report.discarded_day == date(2026, 3, 3)
    assert report.overall.count == 20
    assert report.overall.systolic_mean == pytest.approx(134)
    # The 9th has no readings: both its sessions are missing; days before monitoring began are not.
    assert [(m.date, m.session) for m in report.missing_sessions] == [
        (date(2026, 3, 9), Session.MORNING),
        (date(2026, 3, 9), Session.EVENING),
    ]


def test_implausible_and_failed_readings_are_left_out_and_counted():
    rows = [
        *protocol_week(),
        bp(at(5, 7, 5), 300, 40, implausible=True, implausible_reasons=("systolic_above_limit",)),
        bp(at(6, 21, 5), None, 85, invalid_values=("systolic",)),
        bp(at(7, 21, 5), 129, 79, invalid_values=("diastolic",)),
    ]
    report = home_bp_report(rows, end=date(2026, 3, 8), days=7)

    assert report.overall.count == 24  # unchanged: the three extra readings are not used
    assert report.overall.systolic_mean == pytest.approx(134)
    excluded = {r.reading_id: r.excluded for r in report.readings if not r.used}
    assert sorted(excluded.values()) == sorted(
        [Exclusion.FIRST_DAY, Exclusion.FIRST_DAY, Exclusion.IMPLAUSIBLE, Exclusion.FAILED, Exclusion.FAILED]
    )
    codes = {w.code: w.message for w in report.warnings}
    assert "1 implausible reading(s)" in codes["implausible_excluded"]
    assert "2 failed reading(s)" in codes["failed_excluded"]


def test_missing_sessions_and_too_few_readings():
    rows = [
        bp(at(4, 8), 150, 95),  # first monitoring day: discarded
        bp(at(5, 7, 0), 136, 86),
        bp(at(5, 7, 2), 134, 84),  # a full morning, no evening
        bp(at(6, 19), 140, 90),  # one evening reading
        bp(at(7, 14), 200, 100),  # 14:00: outside both sessions
        bp(at(8, 5, 30), 120, 80),  # one early morning reading
    ]
    report = home_bp_report(rows, end=date(2026, 3, 8), days=7)

    assert report.discarded_day == date(2026, 3, 4)
    # Used: 136, 134, 140, 120 -> 132.5; diastolic 86, 84, 90, 80 -> 85.0, which reaches 85.
    assert report.overall.count == 4
    assert report.overall.systolic_mean == pytest.approx(132.5)
    assert report.overall.diastolic_mean == pytest.approx(85.0)
    assert report.classification == "elevated"
    assert report.days_with_readings == 3 and not report.meets_protocol_minimum
    assert report.morning.count == 3 and report.evening.count == 1
    assert report.evening.systolic_sd is None  # one reading has no SD
    assert [(m.date.day, m.session.value) for m in report.missing_sessions] == [
        (5, "evening"),
        (6, "morning"),
        (7, "morning"),
        (7, "evening"),
        (8, "evening"),
    ]
    codes = [w.code for w in report.warnings]
    assert codes == [
        "first_day_discarded",
        "too_few_readings",
        "missing_sessions",
        "single_reading_sessions",
        "outside_session_excluded",
    ]
    assert "only 4 valid reading(s)" in report.warnings[1].message


def test_no_readings():
    report = home_bp_report([], end=date(2026, 3, 8))
    assert report.classification == "no_data" and report.discarded_day is None
    assert [w.code for w in report.warnings] == ["no_readings"]


def test_flags_are_reported_but_readings_still_used():
    status = {
        "body_movement": True,
        "cuff_fit_loose": False,
        "irregular_pulse": True,
        "pulse_rate_range": "in_range",
        "improper_position": False,
    }
    rows = [*protocol_week()[:6], bp(at(3, 21, 4), 132, 82, status=status)]
    report = home_bp_report(rows, end=date(2026, 3, 8), days=7)
    flagged = next(r for r in report.readings if r.flags)
    assert flagged.used and flagged.flags == ["body_movement", "irregular_pulse"]
    codes = [w.code for w in report.warnings]
    assert "irregular_pulse" in codes and "measurement_flags" in codes


@pytest.mark.parametrize(
    ("local", "session"),
    [
        (datetime(2026, 3, 3, 3, 59), None),
        (datetime(2026, 3, 3, 4, 0), Session.MORNING),
        (datetime(2026, 3, 3, 11, 59), Session.MORNING),
        (datetime(2026, 3, 3, 12, 0), None),
        (datetime(2026, 3, 3, 15, 59), None),
        (datetime(2026, 3, 3, 16, 0), Session.EVENING),
        (datetime(2026, 3, 3, 23, 59), Session.EVENING),
        (datetime(2026, 3, 29, 4, 30), Session.MORNING),  # first morning of summer time (UTC+2)
        (datetime(2026, 10, 25, 2, 30), None),  # the repeated hour when summer time ends
    ],
)
def test_sessions_follow_local_time_with_dst(local: datetime, session: Session | None):
    assert bp_session(local.replace(tzinfo=CPH).astimezone(UTC)) is session


def test_a_late_evening_reading_in_utc_belongs_to_the_local_day():
    # 22:30 UTC on 3 March is 23:30 in Copenhagen: the evening of the 3rd, not the 4th.
    report = home_bp_report(
        [bp(at(2, 8), 130, 80), bp(datetime(2026, 3, 3, 22, 30, tzinfo=UTC), 130, 80)], end=date(2026, 3, 8)
    )
    used = [r for r in report.readings if r.used]
    assert [(r.local_date, r.session) for r in used] == [(date(2026, 3, 3), Session.EVENING)]


def test_python_sessions_match_the_sql_function(db_dsn: str):
    """bp_session in Python and in SQL: the same answer for every half hour of two DST-change days."""
    instants = [
        datetime(2026, month, day, tzinfo=UTC) + timedelta(minutes=30 * i)
        for month, day in ((3, 28), (10, 24))
        for i in range(96)
    ]
    with psycopg.connect(db_dsn) as conn:
        for zone in ("Europe/Copenhagen", "America/Nuuk", "UTC"):
            sql = [
                r[0]
                for r in conn.execute(
                    "SELECT bp_session(t, %s) FROM unnest(%s::timestamptz[]) AS t", (zone, instants)
                ).fetchall()
            ]
            assert sql == [(s.value if (s := bp_session(t, zone)) else None) for t in instants], zone


async def test_report_endpoint_json_html_and_pdf(client, seeded, db_dsn: str):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        citizen, device = (
            seeded.bo,
            insert_device(conn, "A4:C1:38:00:00:AA"),
        )
        for row in [*protocol_week(), bp(at(5, 7, 5), 300, 40, implausible=True)]:
            insert_reading(
                conn,
                device_id=device,
                citizen_id=citizen,
                measured_at=row.measured_at,
                systolic=row.systolic,
                diastolic=row.diastolic,
                pulse=row.pulse_rate,
                implausible=row.implausible,
            )
    headers = bearer(principals(seeded)["clinician"])
    path = f"/api/v1/citizens/{citizen}/reports/home-bp"

    report = (await client.get(path, params={"end": "2026-03-08", "days": 7}, headers=headers)).json()
    assert report["overall"]["count"] == 24
    assert report["overall"]["systolic_mean"] == pytest.approx(134)
    assert report["classification"] == "not_elevated"
    assert [w["code"] for w in report["warnings"]] == ["first_day_discarded", "implausible_excluded"]

    html = await client.get(path + ".html", params={"end": "2026-03-08"}, headers=headers)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    page = html.text
    assert "<svg" in page and page.count('class="reading systolic"') == 27  # every reading, used or not
    assert "Threshold 135" in page and "Threshold 85" in page and "Mean systolic 134.0" in page
    assert "Bo Berg" in page and "0202502345" in page  # clinicians see the CPR number

    pdf = await client.get(path + ".pdf", params={"end": "2026-03-08"}, headers=headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 5000
