from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from segur_portal.clocks import (
    deadline_after_calendar_days,
    deadline_after_hours,
    deadline_after_working_days,
    deadline_with_suspensions,
    due_display,
    halfway,
    is_working_day,
    one_working_day_before,
    paris_date,
    remaining_calendar_days,
    remaining_display,
    running_duration,
)

PARIS = ZoneInfo("Europe/Paris")
# Checked against the package directly, so the properties below do not trust the engine.
FRENCH_HOLIDAYS = holidays.France(years=range(2026, 2028))


def paris(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def utc(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _working(day):
    return day.weekday() < 5 and day not in FRENCH_HOLIDAYS


# Working days


def test_is_working_day_on_public_holidays_and_weekends():
    non_working = [
        date(2026, 1, 1),
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),
        date(2026, 5, 8),
        date(2026, 5, 14),  # Ascension
        date(2026, 5, 25),  # Whit Monday
        date(2026, 7, 14),
        date(2026, 8, 15),
        date(2026, 11, 11),
        date(2026, 12, 25),
        date(2027, 1, 1),
        date(2027, 3, 29),  # Easter Monday
        date(2027, 11, 1),
        date(2026, 12, 12),  # Saturday
        date(2026, 12, 13),  # Sunday
    ]
    assert [day for day in non_working if is_working_day(day)] == []


def test_is_working_day_on_ordinary_weekdays_and_alsace_only_holidays():
    working = [
        date(2026, 12, 11),
        date(2026, 5, 26),
        date(2026, 12, 24),
        date(2026, 12, 31),
        date(2026, 4, 3),  # Good Friday: Alsace-Moselle only, not the metropolitan list
        date(2025, 12, 26),  # Saint Stephen: Alsace-Moselle only
    ]
    assert [day for day in working if not is_working_day(day)] == []


def test_is_working_day_refuses_a_datetime():
    with pytest.raises(TypeError, match="paris_date"):
        is_working_day(paris(2026, 12, 11, 10))


def test_paris_date_uses_paris_not_utc():
    assert paris_date(utc(2026, 12, 3, 23, 30)) == date(2026, 12, 4)
    assert paris_date(utc(2026, 7, 14, 22, 30)) == date(2026, 7, 15)
    assert paris_date(utc(2026, 7, 14, 21, 30)) == date(2026, 7, 14)


def test_deadline_after_working_days_spec_example():
    due_at = deadline_after_working_days(paris(2026, 12, 4, 16), 5)
    assert due_at == utc(2026, 12, 11, 23)
    assert due_at == paris(2026, 12, 12)
    assert due_at.utcoffset() == timedelta(0)


def test_deadline_after_working_days_friday_evening():
    assert deadline_after_working_days(paris(2026, 12, 4, 23, 30), 5) == utc(2026, 12, 11, 23)


def test_deadline_after_working_days_counts_from_the_paris_date():
    # Thursday 23:30 UTC is already Friday 00:30 in Paris: Friday is the day of the event.
    assert deadline_after_working_days(utc(2026, 12, 3, 23, 30), 5) == utc(2026, 12, 11, 23)


def test_deadline_after_working_days_saturday_request():
    assert deadline_after_working_days(paris(2026, 12, 5, 10), 5) == utc(2026, 12, 11, 23)


def test_deadline_after_working_days_sunday_request():
    assert deadline_after_working_days(paris(2026, 12, 6, 22), 1) == utc(2026, 12, 7, 23)
    assert deadline_after_working_days(paris(2026, 12, 6, 22), 5) == utc(2026, 12, 11, 23)


def test_deadline_after_working_days_monday_request_does_not_count_monday():
    assert deadline_after_working_days(paris(2026, 12, 7, 9), 5) == utc(2026, 12, 14, 23)


def test_deadline_after_working_days_spring_dst_2026():
    start = paris(2026, 3, 27, 10)
    due_at = deadline_after_working_days(start, 1)
    assert due_at == utc(2026, 3, 30, 22)
    assert due_at == paris(2026, 3, 31)
    assert start.utcoffset() == timedelta(hours=1)
    assert due_at.astimezone(PARIS).utcoffset() == timedelta(hours=2)
    assert deadline_after_working_days(paris(2026, 3, 26, 15), 2) == utc(2026, 3, 30, 22)
    assert deadline_after_working_days(paris(2026, 3, 29, 10), 1) == utc(2026, 3, 30, 22)


def test_deadline_after_working_days_autumn_dst_2026():
    due_at = deadline_after_working_days(paris(2026, 10, 23, 10), 1)
    assert due_at == utc(2026, 10, 26, 23)
    assert due_at == paris(2026, 10, 27)
    assert due_at.astimezone(PARIS).utcoffset() == timedelta(hours=1)


def test_deadline_after_working_days_spring_dst_2027_and_easter_monday():
    # Summer time starts on Easter Sunday 28 March 2027; Monday 29 is a holiday.
    assert deadline_after_working_days(paris(2027, 3, 26, 10), 1) == utc(2027, 3, 30, 22)


def test_deadline_after_working_days_autumn_dst_2027_and_all_saints():
    # Winter time on Sunday 31 October 2027; Monday 1 November is a holiday.
    assert deadline_after_working_days(paris(2027, 10, 29, 10), 1) == utc(2027, 11, 2, 23)


def test_deadline_after_working_days_skips_1_may_2026():
    assert deadline_after_working_days(paris(2026, 4, 30, 10), 1) == utc(2026, 5, 4, 22)
    assert deadline_after_working_days(paris(2026, 4, 29, 10), 5) == utc(2026, 5, 7, 22)


def test_deadline_after_working_days_skips_8_may_and_ascension_2026():
    assert deadline_after_working_days(paris(2026, 5, 7, 10), 1) == utc(2026, 5, 11, 22)
    assert deadline_after_working_days(paris(2026, 5, 13, 10), 1) == utc(2026, 5, 15, 22)
    # Thu 7, Mon 11, Tue 12, Wed 13, Fri 15.
    assert deadline_after_working_days(paris(2026, 5, 6, 10), 5) == utc(2026, 5, 15, 22)


def test_deadline_after_working_days_skips_whit_monday_2026():
    assert deadline_after_working_days(paris(2026, 5, 22, 10), 1) == utc(2026, 5, 26, 22)


def test_deadline_after_working_days_skips_14_july_2026():
    assert deadline_after_working_days(paris(2026, 7, 13, 10), 1) == utc(2026, 7, 15, 22)


def test_deadline_after_working_days_skips_11_november_2026():
    assert deadline_after_working_days(paris(2026, 11, 10, 10), 1) == utc(2026, 11, 12, 23)


def test_deadline_after_working_days_over_christmas_and_new_year():
    # Thu 24, (Fri 25 Christmas), Mon 28, Tue 29, Wed 30, Thu 31.
    assert deadline_after_working_days(paris(2026, 12, 23, 10), 5) == utc(2026, 12, 31, 23)
    assert deadline_after_working_days(paris(2026, 12, 31, 10), 1) == utc(2027, 1, 4, 23)
    assert deadline_after_working_days(paris(2026, 12, 24, 10), 2) == utc(2026, 12, 29, 23)


# Hours


def test_deadline_after_hours_is_exact():
    due_at = deadline_after_hours(paris(2026, 12, 7, 16), 24)
    assert due_at == utc(2026, 12, 8, 15)
    assert due_at.utcoffset() == timedelta(0)


def test_deadline_after_hours_across_spring_dst_2026():
    due_at = deadline_after_hours(paris(2026, 3, 28, 12), 24)
    assert due_at == utc(2026, 3, 29, 11)
    assert due_at.astimezone(PARIS).hour == 13


def test_deadline_after_hours_across_autumn_dst_2026():
    due_at = deadline_after_hours(paris(2026, 10, 24, 12), 24)
    assert due_at == utc(2026, 10, 25, 10)
    assert due_at.astimezone(PARIS).hour == 11


def test_deadline_after_hours_across_dst_2027():
    assert deadline_after_hours(paris(2027, 3, 27, 12), 24) == utc(2027, 3, 28, 11)
    assert deadline_after_hours(paris(2027, 10, 30, 12), 24) == utc(2027, 10, 31, 10)


# Calendar days


def test_deadline_after_calendar_days_on_a_weekday():
    assert deadline_after_calendar_days(paris(2026, 6, 1, 10), 30) == utc(2026, 7, 1, 22)


def test_deadline_after_calendar_days_15_august_saturday_pushed_to_monday():
    due_at = deadline_after_calendar_days(paris(2026, 7, 16, 10), 30)
    assert due_at == utc(2026, 8, 17, 22)


def test_deadline_after_calendar_days_landing_on_a_sunday():
    assert deadline_after_calendar_days(paris(2026, 11, 13, 10), 30) == utc(2026, 12, 14, 23)


def test_deadline_after_calendar_days_landing_on_a_holiday_monday():
    # Whit Monday 25 May 2026, Easter Monday 6 April 2026.
    assert deadline_after_calendar_days(paris(2026, 4, 25, 10), 30) == utc(2026, 5, 26, 22)
    assert deadline_after_calendar_days(paris(2026, 3, 7, 10), 30) == utc(2026, 4, 7, 22)


def test_deadline_after_calendar_days_1_and_11_november_2026():
    # 1 November 2026 is a Sunday, 11 November a Wednesday.
    assert deadline_after_calendar_days(paris(2026, 10, 2, 10), 30) == utc(2026, 11, 2, 23)
    assert deadline_after_calendar_days(paris(2026, 10, 12, 10), 30) == utc(2026, 11, 12, 23)


def test_deadline_after_calendar_days_four_weeks():
    assert deadline_after_calendar_days(paris(2026, 12, 7, 10), 28) == utc(2027, 1, 4, 23)
    # Lands on Christmas, a Friday: pushed over the weekend.
    assert deadline_after_calendar_days(paris(2026, 11, 27, 10), 28) == utc(2026, 12, 28, 23)


def test_deadline_after_calendar_days_friday_evening():
    # 4 December + 30 = Sunday 3 January 2027.
    assert deadline_after_calendar_days(paris(2026, 12, 4, 23, 30), 30) == utc(2027, 1, 4, 23)


def test_deadline_after_calendar_days_across_dst_2026():
    due_at = deadline_after_calendar_days(paris(2026, 3, 2, 10), 28)
    assert due_at == utc(2026, 3, 30, 22)
    assert due_at.astimezone(PARIS).utcoffset() == timedelta(hours=2)
    assert deadline_after_calendar_days(paris(2026, 9, 28, 10), 28) == utc(2026, 10, 26, 23)


def test_deadline_after_calendar_days_across_dst_2027():
    # Monday 29 March 2027 is Easter Monday; Sunday 31 October then All Saints.
    assert deadline_after_calendar_days(paris(2027, 3, 1, 10), 28) == utc(2027, 3, 30, 22)
    assert deadline_after_calendar_days(paris(2027, 10, 3, 10), 28) == utc(2027, 11, 2, 23)


# Arguments


@pytest.mark.parametrize(
    "deadline", [deadline_after_hours, deadline_after_working_days, deadline_after_calendar_days]
)
def test_deadlines_refuse_naive_datetimes(deadline):
    with pytest.raises(ValueError, match="fuseau horaire"):
        deadline(datetime(2026, 12, 4, 16), 5)


@pytest.mark.parametrize(
    "deadline", [deadline_after_hours, deadline_after_working_days, deadline_after_calendar_days]
)
@pytest.mark.parametrize("count", [0, -1])
def test_deadlines_refuse_non_positive_counts(deadline, count):
    with pytest.raises(ValueError, match="strictement positif"):
        deadline(paris(2026, 12, 4, 16), count)


# Display


def test_due_display_end_of_day_reads_the_day_inclusive():
    assert due_display(utc(2026, 12, 11, 23)) == "jusqu’au vendredi 11 décembre 2026 inclus"
    assert due_display(paris(2026, 12, 12)) == "jusqu’au vendredi 11 décembre 2026 inclus"
    assert due_display(utc(2026, 8, 17, 22)) == "jusqu’au lundi 17 août 2026 inclus"


def test_due_display_hour_deadline_reads_exact_time():
    assert due_display(utc(2026, 12, 8, 15)) == "jusqu’au mardi 8 décembre 2026 à 16:00"


def test_due_display_drops_seconds():
    assert due_display(utc(2026, 12, 8, 15) + timedelta(seconds=45)) == (
        "jusqu’au mardi 8 décembre 2026 à 16:00"
    )


def test_due_display_first_of_month_and_year_end():
    assert due_display(utc(2026, 12, 1, 23)) == "jusqu’au mardi 1er décembre 2026 inclus"
    assert due_display(utc(2027, 2, 1, 23)) == "jusqu’au lundi 1er février 2027 inclus"
    assert due_display(utc(2026, 12, 31, 23)) == "jusqu’au jeudi 31 décembre 2026 inclus"


def test_due_display_hour_deadline_at_midnight_reads_as_the_day_before_inclusive():
    due_at = deadline_after_hours(paris(2026, 12, 7), 24)
    assert due_display(due_at) == "jusqu’au lundi 7 décembre 2026 inclus"


def test_due_display_jalons_as_entered():
    # Jalons are entered at 23:59 Paris (end of day) and J2 at 14:00.
    assert due_display(paris(2026, 12, 9, 23, 59)) == "jusqu’au mercredi 9 décembre 2026 inclus"
    assert due_display(paris(2027, 1, 4, 14)) == "jusqu’au lundi 4 janvier 2027 à 14:00"
    # Winter and summer time alike: the Paris day, never the UTC one.
    assert due_display(paris(2026, 7, 15, 23, 59)) == "jusqu’au mercredi 15 juillet 2026 inclus"
    assert due_display(utc(2026, 7, 15, 22)) == "jusqu’au mercredi 15 juillet 2026 inclus"


def test_the_echeance_filter_reads_like_the_pages_and_emails():
    from django.template import Context, Template

    rendered = Template("{% load echeances %}Répondez {{ due|echeance }}.").render(
        Context({"due": utc(2026, 12, 11, 23)})
    )
    assert rendered == "Répondez jusqu’au vendredi 11 décembre 2026 inclus."
    assert Template("{% load echeances %}{{ none|echeance }}").render(Context({})) == ""


def test_due_display_refuses_naive_datetime():
    with pytest.raises(ValueError, match="fuseau horaire"):
        due_display(datetime(2026, 12, 11, 23))


SPEC_DUE_AT = utc(2026, 12, 11, 23)  # Friday 4 December 2026 16:00 + 5 working days


def test_remaining_display_working_days_midway():
    assert remaining_display(
        due_at=SPEC_DUE_AT, now=paris(2026, 12, 9, 10), unit="working_days"
    ) == ("3 jours ouvrés restants — jusqu’au vendredi 11 décembre 2026 inclus")


def test_remaining_display_working_days_first_day():
    assert remaining_display(
        due_at=SPEC_DUE_AT, now=paris(2026, 12, 7, 8), unit="working_days"
    ) == ("5 jours ouvrés restants — jusqu’au vendredi 11 décembre 2026 inclus")
    assert remaining_display(
        due_at=SPEC_DUE_AT, now=paris(2026, 12, 5, 10), unit="working_days"
    ) == ("5 jours ouvrés restants — jusqu’au vendredi 11 décembre 2026 inclus")


def test_remaining_display_working_days_counts_the_rest_of_the_event_day():
    # The rule counts today when it is a working day, the day of the event included.
    assert remaining_display(
        due_at=SPEC_DUE_AT, now=paris(2026, 12, 4, 16), unit="working_days"
    ) == ("6 jours ouvrés restants — jusqu’au vendredi 11 décembre 2026 inclus")


def test_remaining_display_working_days_last_day_singular():
    expected = "1 jour ouvré restant — jusqu’au vendredi 11 décembre 2026 inclus"
    now = paris(2026, 12, 11, 8)
    assert remaining_display(due_at=SPEC_DUE_AT, now=now, unit="working_days") == expected
    last_instant = SPEC_DUE_AT - timedelta(microseconds=1)
    assert remaining_display(due_at=SPEC_DUE_AT, now=last_instant, unit="working_days") == expected


@pytest.mark.parametrize("unit", ["hours", "working_days", "calendar_days"])
def test_remaining_display_past_due(unit):
    expected = "Délai expiré (il courait jusqu’au vendredi 11 décembre 2026 inclus)"
    assert remaining_display(due_at=SPEC_DUE_AT, now=SPEC_DUE_AT, unit=unit) == expected
    assert remaining_display(due_at=SPEC_DUE_AT, now=paris(2026, 12, 14, 9), unit=unit) == expected


def test_remaining_display_hours_rounds_up():
    due_at = utc(2026, 12, 8, 15)
    suffix = " — jusqu’au mardi 8 décembre 2026 à 16:00"
    assert remaining_display(due_at=due_at, now=paris(2026, 12, 7, 17), unit="hours") == (
        "23 heures restantes" + suffix
    )
    assert remaining_display(due_at=due_at, now=paris(2026, 12, 7, 16), unit="hours") == (
        "24 heures restantes" + suffix
    )
    assert remaining_display(due_at=due_at, now=paris(2026, 12, 7, 16, 30), unit="hours") == (
        "24 heures restantes" + suffix
    )
    assert remaining_display(due_at=due_at, now=paris(2026, 12, 8, 15, 30), unit="hours") == (
        "1 heure restante" + suffix
    )


def test_remaining_display_calendar_days_inclusive():
    due_at = utc(2026, 8, 17, 22)
    suffix = " — jusqu’au lundi 17 août 2026 inclus"
    assert remaining_display(due_at=due_at, now=paris(2026, 8, 6, 10), unit="calendar_days") == (
        "12 jours restants" + suffix
    )
    assert remaining_display(due_at=due_at, now=paris(2026, 7, 16, 10), unit="calendar_days") == (
        "33 jours restants" + suffix
    )
    assert remaining_display(due_at=due_at, now=paris(2026, 8, 17, 8), unit="calendar_days") == (
        "1 jour restant" + suffix
    )


def test_remaining_display_refuses_unknown_unit():
    with pytest.raises(ValueError, match="Unité inconnue"):
        remaining_display(due_at=SPEC_DUE_AT, now=paris(2026, 12, 9, 10), unit="weeks")


def test_remaining_display_refuses_naive_now():
    with pytest.raises(ValueError, match="fuseau horaire"):
        remaining_display(due_at=SPEC_DUE_AT, now=datetime(2026, 12, 9, 10), unit="hours")


# Reminders


def test_halfway_is_the_real_time_midpoint():
    assert halfway(paris(2026, 12, 4, 16), SPEC_DUE_AT) == utc(2026, 12, 8, 7)


def test_halfway_across_spring_dst():
    start = paris(2026, 3, 28, 12)
    assert halfway(start, deadline_after_hours(start, 24)) == utc(2026, 3, 28, 23)


def test_halfway_refuses_a_due_before_start():
    with pytest.raises(ValueError, match="postérieur"):
        halfway(SPEC_DUE_AT, paris(2026, 12, 4, 16))


def test_one_working_day_before_is_the_morning_of_the_last_day():
    assert one_working_day_before(SPEC_DUE_AT) == paris(2026, 12, 11)
    assert one_working_day_before(SPEC_DUE_AT) == utc(2026, 12, 10, 23)


def test_one_working_day_before_after_holidays_and_dst():
    assert one_working_day_before(utc(2026, 8, 17, 22)) == paris(2026, 8, 17)
    assert one_working_day_before(utc(2026, 5, 26, 22)) == paris(2026, 5, 26)
    assert one_working_day_before(utc(2026, 12, 31, 23)) == paris(2026, 12, 31)
    assert one_working_day_before(utc(2026, 3, 30, 22)) == utc(2026, 3, 29, 22)


def test_one_working_day_before_for_a_one_working_day_period():
    start = paris(2026, 12, 7, 10)
    due_at = deadline_after_working_days(start, 1)
    reminder = one_working_day_before(due_at)
    assert reminder == paris(2026, 12, 8)
    # The only working day's morning: after the event, before half-time.
    assert halfway(start, due_at) == paris(2026, 12, 8, 5)
    assert start < reminder < halfway(start, due_at)


def test_one_working_day_before_for_a_one_working_day_period_from_friday_night():
    start = paris(2026, 12, 4, 23, 30)
    reminder = one_working_day_before(deadline_after_working_days(start, 1))
    assert reminder == paris(2026, 12, 7)


def test_one_working_day_before_for_an_hour_or_jalon_deadline():
    assert one_working_day_before(utc(2026, 12, 8, 15)) == paris(2026, 12, 8)
    # Saturday 10:00 and a Sunday ending at midnight: back to Friday's morning.
    assert one_working_day_before(paris(2026, 12, 12, 10)) == paris(2026, 12, 11)
    assert one_working_day_before(paris(2026, 12, 14)) == paris(2026, 12, 11)


def test_one_working_day_before_can_precede_a_short_deadline_start():
    start = paris(2026, 12, 8, 10)
    assert one_working_day_before(deadline_after_hours(start, 2)) == paris(2026, 12, 8)


def test_one_working_day_before_refuses_naive_datetime():
    with pytest.raises(ValueError, match="fuseau horaire"):
        one_working_day_before(datetime(2026, 12, 11, 23))


# Suspended clocks


def test_running_duration_start_pause_resume_pause_resume():
    events = [
        (paris(2026, 12, 7, 9), "start"),
        (paris(2026, 12, 7, 10), "pause"),
        (paris(2026, 12, 7, 12), "resume"),
        (paris(2026, 12, 7, 13, 30), "pause"),
        (paris(2026, 12, 7, 14), "resume"),
    ]
    now = paris(2026, 12, 7, 15)
    assert running_duration(events=events, now=now) == timedelta(hours=3, minutes=30)


def test_running_duration_paused_at_now():
    events = [(paris(2026, 12, 7, 9), "start"), (paris(2026, 12, 7, 10), "pause")]
    assert running_duration(events=events, now=paris(2026, 12, 7, 15)) == timedelta(hours=1)
    assert running_duration(events=events, now=paris(2026, 12, 7, 10)) == timedelta(hours=1)


def test_running_duration_stopped():
    events = [
        (paris(2026, 12, 7, 9), "start"),
        (paris(2026, 12, 7, 10), "pause"),
        (paris(2026, 12, 7, 11), "resume"),
        (paris(2026, 12, 7, 12), "stop"),
    ]
    assert running_duration(events=events, now=paris(2026, 12, 8, 9)) == timedelta(hours=2)


def test_running_duration_stopped_while_paused():
    events = [
        (paris(2026, 12, 7, 9), "start"),
        (paris(2026, 12, 7, 10), "pause"),
        (paris(2026, 12, 7, 11), "stop"),
    ]
    assert running_duration(events=events, now=paris(2026, 12, 8, 9)) == timedelta(hours=1)


def test_running_duration_counts_real_hours_across_dst():
    spring = [(paris(2026, 3, 28), "start")]
    assert running_duration(events=spring, now=paris(2026, 3, 30)) == timedelta(hours=47)
    autumn = [(paris(2026, 10, 24), "start")]
    assert running_duration(events=autumn, now=paris(2026, 10, 26)) == timedelta(hours=49)


def test_running_duration_accepts_equal_instants():
    at = paris(2026, 12, 7, 9)
    events = [(at, "start"), (at, "pause"), (at, "resume")]
    assert running_duration(events=events, now=at + timedelta(minutes=5)) == timedelta(minutes=5)


def _at(hour):
    return paris(2026, 12, 7, hour)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "premier doit être « start »"),
        ([(_at(9), "pause")], "« pause » impossible quand l’horloge est non démarrée"),
        ([(_at(9), "start"), (_at(10), "start")], "« start » impossible quand l’horloge est en"),
        (
            [(_at(9), "start"), (_at(10), "pause"), (_at(11), "pause")],
            "« pause » impossible quand l’horloge est suspendue",
        ),
        ([(_at(9), "start"), (_at(10), "resume")], "« resume » impossible quand l’horloge est en"),
        (
            [(_at(9), "start"), (_at(10), "stop"), (_at(11), "resume")],
            "« resume » impossible quand l’horloge est arrêtée",
        ),
        ([(_at(9), "start"), (_at(11), "pause"), (_at(10), "resume")], "ordre du temps"),
        ([(_at(9), "start"), (_at(16), "pause")], "postérieur à maintenant"),
        ([(_at(9), "start"), (_at(10), "suspend")], "type inconnu 'suspend'"),
        ([("start", _at(9))], r"attendu \(instant, type\)"),
        ([(datetime(2026, 12, 7, 9), "start")], "fuseau horaire"),
    ],
)
def test_running_duration_refuses_invalid_sequences(events, message):
    with pytest.raises(ValueError, match=message):
        running_duration(events=events, now=_at(15))


def test_running_duration_refuses_naive_now():
    with pytest.raises(ValueError, match="fuseau horaire"):
        running_duration(events=[(_at(9), "start")], now=datetime(2026, 12, 7, 15))


INSTRUCTION = timedelta(weeks=6)


def test_deadline_with_suspensions_adds_the_suspended_time():
    events = [
        (paris(2026, 12, 7, 9), "start"),
        (paris(2026, 12, 9, 9), "pause"),
        (paris(2026, 12, 14, 9), "resume"),
    ]
    # 7 December + 42 days + 5 days suspended.
    expected = paris(2027, 1, 23, 9)
    for now in [paris(2026, 12, 14, 9), paris(2026, 12, 15, 9), paris(2027, 1, 10, 12)]:
        assert deadline_with_suspensions(events=events, duration=INSTRUCTION, now=now) == expected


def test_deadline_with_suspensions_is_real_time_across_dst():
    start = paris(2026, 3, 16, 9)
    due_at = deadline_with_suspensions(events=[(start, "start")], duration=INSTRUCTION, now=start)
    assert due_at == utc(2026, 4, 27, 8)
    assert due_at == paris(2026, 4, 27, 10)


def test_deadline_with_suspensions_none_while_paused_or_stopped():
    paused = [(paris(2026, 12, 7, 9), "start"), (paris(2026, 12, 9, 9), "pause")]
    now = paris(2026, 12, 10, 9)
    assert deadline_with_suspensions(events=paused, duration=INSTRUCTION, now=now) is None
    stopped = [(paris(2026, 12, 7, 9), "start"), (paris(2026, 12, 9, 9), "stop")]
    assert deadline_with_suspensions(events=stopped, duration=INSTRUCTION, now=now) is None


def test_deadline_with_suspensions_already_reached():
    two_days = timedelta(days=2)
    running = [(paris(2026, 12, 7, 9), "start")]
    now = paris(2026, 12, 10, 9)
    expected = paris(2026, 12, 9, 9)
    assert deadline_with_suspensions(events=running, duration=two_days, now=now) == expected
    paused = [
        (paris(2026, 12, 7, 9), "start"),
        (paris(2026, 12, 10, 9), "pause"),
        (paris(2026, 12, 11, 9), "resume"),
    ]
    now = paris(2026, 12, 12, 9)
    assert deadline_with_suspensions(events=paused, duration=two_days, now=now) == expected


def test_deadline_with_suspensions_refuses_a_non_positive_duration():
    with pytest.raises(ValueError, match="strictement positive"):
        deadline_with_suspensions(events=[(_at(9), "start")], duration=timedelta(0), now=_at(15))


# Properties over every hour of 2026


START_HOURS_2026 = [utc(2026, 1, 1) + timedelta(hours=hour) for hour in range(365 * 24)]


def test_deadline_after_working_days_every_hour_of_2026():
    offenders = []
    for index, start in enumerate(START_HOURS_2026):
        working_days = 1 + index % 5
        local = deadline_after_working_days(start, working_days).astimezone(PARIS)
        last_day = local.date() - timedelta(days=1)
        event_day = start.astimezone(PARIS).date()
        counted = sum(
            _working(event_day + timedelta(days=offset))
            for offset in range(1, (last_day - event_day).days + 1)
        )
        if local.time() != time(0) or not _working(last_day) or counted != working_days:
            offenders.append((start, working_days, local))
    assert offenders == []


def test_deadline_after_calendar_days_every_hour_of_2026():
    offenders = []
    for index, start in enumerate(START_HOURS_2026):
        days = 28 if index % 2 else 30
        local = deadline_after_calendar_days(start, days).astimezone(PARIS)
        last_day = local.date() - timedelta(days=1)
        nominal = start.astimezone(PARIS).date() + timedelta(days=days)
        skipped = [nominal + timedelta(days=offset) for offset in range((last_day - nominal).days)]
        if (
            local.time() != time(0)
            or not _working(last_day)
            or last_day < nominal
            or any(_working(day) for day in skipped)
        ):
            offenders.append((start, days, local))
    assert offenders == []


def test_deadline_after_hours_every_hour_of_2026():
    offenders = [
        start
        for start in START_HOURS_2026
        if deadline_after_hours(start.astimezone(PARIS), 24) - start != timedelta(hours=24)
    ]
    assert offenders == []


def test_remaining_display_does_not_count_the_day_of_the_event():
    opened = datetime(2026, 12, 4, 16, 0, tzinfo=PARIS)
    due = deadline_after_working_days(opened, 5)
    evening = datetime(2026, 12, 4, 20, 0, tzinfo=PARIS)
    assert remaining_display(due_at=due, now=evening, unit="working_days", counted_from=opened) == (
        "5 jours ouvrés restants — jusqu’au vendredi 11 décembre 2026 inclus"
    )
    wednesday = datetime(2026, 12, 9, 10, 0, tzinfo=PARIS)
    assert remaining_display(
        due_at=due, now=wednesday, unit="working_days", counted_from=opened
    ).startswith("3 jours ouvrés restants")
    # 30 days land on Sunday 3 January 2027, pushed to the end of Monday 4: from
    # Saturday 5 December through Monday 4 January, 31 days.
    thirty = deadline_after_calendar_days(opened, 30)
    assert remaining_calendar_days(due_at=thirty, now=evening, counted_from=opened) == 31
