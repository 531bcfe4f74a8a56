"""The clock engine: when a deadline falls, how it reads, how a suspended clock runs.

Pure functions, no database. Deadlines are counted as the French civil procedure does
(Code de procédure civile art. 641–642, SPEC §4):

- hours: exactly that many real hours after the event (UTC arithmetic);
- working days (jours ouvrés): Monday–Friday minus French public holidays, on
  Europe/Paris dates; the day of the event does not count; due at the end (24:00 Paris)
  of the N-th working day after it;
- calendar days (30 days, 4 weeks = 28 days): the day of the event does not count; due at
  the end of the last day, pushed to the end of the next working day when that day is a
  Saturday, Sunday or public holiday.

Every instant taken or returned is an aware datetime; returned instants are in UTC. An
end-of-day deadline is the instant 00:00 Europe/Paris of the following calendar day:
acting before it is in time, acting at it is late.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")

ClockUnit = Literal["hours", "working_days", "calendar_days"]
CLOCK_UNITS: frozenset[str] = frozenset({"hours", "working_days", "calendar_days"})

ClockEventKind = Literal["start", "pause", "resume", "stop"]
CLOCK_EVENT_KINDS: frozenset[str] = frozenset({"start", "pause", "resume", "stop"})

# Written out rather than taken from the process locale, which servers rarely set to French.
FRENCH_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
FRENCH_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} doit être un datetime, pas {type(value).__name__}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} doit être un datetime avec fuseau horaire (reçu : {value!r}).")


def _require_positive(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} doit être un entier strictement positif (reçu : {value!r}).")


# Days


@lru_cache(maxsize=64)
def _french_public_holidays(year: int) -> frozenset[date]:
    # One immutable set per year: holidays.France() fills itself lazily, which is not
    # something to share between threads.
    return frozenset(holidays.France(years=year))


def is_working_day(day: date) -> bool:
    """Monday–Friday and not a French public holiday (metropolitan list, Whit Monday included)."""
    if isinstance(day, datetime):
        raise TypeError("is_working_day prend une date ; pour un instant, passer paris_date(…).")
    return day.weekday() < 5 and day not in _french_public_holidays(day.year)


def paris_date(instant: datetime) -> date:
    """The calendar date of an instant in Europe/Paris."""
    _require_aware(instant, "instant")
    return instant.astimezone(PARIS).date()


def start_of_paris_day(day: date) -> datetime:
    """00:00 Europe/Paris on that day, in UTC."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


def end_of_paris_day(day: date) -> datetime:
    """The end (24:00 Europe/Paris) of that day, i.e. 00:00 Paris the next day, in UTC."""
    return start_of_paris_day(day + timedelta(days=1))


def _last_day(due_at: datetime) -> date:
    """The Paris date of the last moment before due_at (the day itself for 00:00 ends)."""
    return paris_date(due_at - timedelta(microseconds=1))


# Deadlines


def deadline_after_hours(start: datetime, hours: int) -> datetime:
    """Exactly `hours` real hours after start: a DST change does not make 24 h last 23 or 25."""
    _require_aware(start, "start")
    _require_positive(hours, "hours")
    # Converted first: adding to a Paris datetime would add wall-clock hours, not real ones.
    return start.astimezone(UTC) + timedelta(hours=hours)


def deadline_after_working_days(start: datetime, working_days: int) -> datetime:
    """End (24:00 Paris) of the `working_days`-th working day after start's Paris date.

    The day of the event never counts, even when it is a working day.
    """
    _require_positive(working_days, "working_days")
    day = paris_date(start)
    counted = 0
    while counted < working_days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return end_of_paris_day(day)


def deadline_after_calendar_days(start: datetime, days: int) -> datetime:
    """End (24:00 Paris) of start's Paris date + `days`, pushed to the next working day.

    Used for "30 days" and "4 weeks" (days=28).
    """
    _require_positive(days, "days")
    day = paris_date(start) + timedelta(days=days)
    while not is_working_day(day):
        day += timedelta(days=1)
    return end_of_paris_day(day)


# Reminders


def halfway(start: datetime, due_at: datetime) -> datetime:
    """The midpoint in real time between start and due_at, in UTC."""
    _require_aware(start, "start")
    _require_aware(due_at, "due_at")
    if due_at <= start:
        raise ValueError("due_at doit être postérieur à start.")
    return start.astimezone(UTC) + (due_at - start) / 2


def one_working_day_before(due_at: datetime) -> datetime:
    """00:00 Paris of the period's last working day, in UTC: the "last day" reminder.

    For a due at the end of Friday 11 December 2026, it is Friday 11 December 00:00 Paris,
    so the reminder goes out on the morning of the last day. The last day is the Paris date
    of the last moment before due_at, stepped back to a working day: a jalon due on
    Saturday 12 December at 10:00 also gives Friday 11 December 00:00.

    When the period is one working day long, its last working day is also its first: the
    instant is the start of that only day. It still comes after the event, since the day
    of the event never counts, and it may come *before* halfway() (Monday 10:00 + 1
    working day: this reminder at Tuesday 00:00, half-time at Tuesday 05:00). The half-time
    reminder then adds nothing; a caller scheduling both should drop it when it does not
    come first. For a short hour-based or jalon deadline the instant can even precede the
    event (a due on the day of the event gives that day's 00:00): callers clamp it with
    max(…, start).
    """
    day = _last_day(due_at)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return start_of_paris_day(day)


# Display


def format_paris_datetime(instant: datetime) -> str:
    """An event (not a deadline), e.g. "vendredi 11 décembre 2026 à 16:00"."""
    _require_aware(instant, "instant")
    local = instant.astimezone(PARIS)
    return f"{_french_date(local.date())} à {local:%H:%M}"


def is_end_of_day(instant: datetime) -> bool:
    """A deadline without a time of its own: 00:00 Paris (the end of the day before, as
    the clocks compute it) or 23:59 (as jalons are entered)."""
    _require_aware(instant, "instant")
    local = instant.astimezone(PARIS).time().replace(second=0, microsecond=0)
    return local in (time(0), time(23, 59))


def due_display(due_at: datetime) -> str:
    """A deadline as people read it, the one wording of pages, e-mails and PDFs, in Paris
    time (SPEC §4): "jusqu’au vendredi 11 décembre 2026 inclus" for an end-of-day deadline,
    "jusqu’au lundi 4 janvier 2027 à 14:00" for one with a time of its own (J2, 24 h),
    seconds dropped so it never reads later than the real one."""
    _require_aware(due_at, "due_at")
    local = due_at.astimezone(PARIS)
    if is_end_of_day(due_at):
        day = _last_day(due_at) if local.time() < time(23, 59) else local.date()
        return f"jusqu’au {_french_date(day)} inclus"
    return f"jusqu’au {_french_date(local.date())} à {local:%H:%M}"


def _french_date(day: date) -> str:
    """e.g. "vendredi 11 décembre 2026", "mardi 1er décembre 2026"."""
    day_number = "1er" if day.day == 1 else str(day.day)
    return (
        f"{FRENCH_WEEKDAYS[day.weekday()]} {day_number} {FRENCH_MONTHS[day.month - 1]} {day.year}"
    )


def _count(number: int, singular: str, plural: str) -> str:
    # French: singular for 0 and 1.
    return f"{number} {singular if number < 2 else plural}"


def _first_counted_day(now: datetime, counted_from: datetime | None) -> date:
    # The day of the event does not count (SPEC §4): on that day the countdown shows the
    # whole period, not the period plus the rest of today.
    today = paris_date(now)
    if counted_from is not None:
        _require_aware(counted_from, "counted_from")
        today = max(today, paris_date(counted_from) + timedelta(days=1))
    return today


def remaining_working_days(
    *, due_at: datetime, now: datetime, counted_from: datetime | None = None
) -> int:
    """Working days from now's Paris date (the day is not over) through the last day;
    with `counted_from` (the event), its day is never counted."""
    _require_aware(now, "now")
    _require_aware(due_at, "due_at")
    if now >= due_at:
        return 0
    today, last_day = _first_counted_day(now, counted_from), _last_day(due_at)
    return sum(
        is_working_day(today + timedelta(days=offset))
        for offset in range((last_day - today).days + 1)
    )


def remaining_calendar_days(
    *, due_at: datetime, now: datetime, counted_from: datetime | None = None
) -> int:
    """Calendar days from now's Paris date through the last day, both included; with
    `counted_from` (the event), its day is never counted."""
    _require_aware(now, "now")
    _require_aware(due_at, "due_at")
    if now >= due_at:
        return 0
    return (_last_day(due_at) - _first_counted_day(now, counted_from)).days + 1


def remaining_hours(*, due_at: datetime, now: datetime) -> int:
    """Hours left before due_at, rounded up: a started hour counts."""
    _require_aware(now, "now")
    _require_aware(due_at, "due_at")
    if now >= due_at:
        return 0
    # Integer floor division of the negated span: a ceiling without float rounding.
    return -((now - due_at) // timedelta(hours=1))


def remaining_display(
    *, due_at: datetime, now: datetime, unit: ClockUnit, counted_from: datetime | None = None
) -> str:
    """e.g. "3 jours ouvrés restants — jusqu’au vendredi 11 décembre 2026 inclus".

    Once now has reached due_at: "Délai expiré (il courait jusqu’au …)". `counted_from`,
    the event that started the clock: its day is not counted in the days left.
    """
    if unit not in CLOCK_UNITS:
        raise ValueError(f"Unité inconnue : {unit!r} (attendu : {sorted(CLOCK_UNITS)}).")
    _require_aware(now, "now")
    _require_aware(due_at, "due_at")
    if now >= due_at:
        return f"Délai expiré (il courait {due_display(due_at)})"
    if unit == "hours":
        left = _count(remaining_hours(due_at=due_at, now=now), "heure restante", "heures restantes")
    elif unit == "working_days":
        left = _count(
            remaining_working_days(due_at=due_at, now=now, counted_from=counted_from),
            "jour ouvré restant",
            "jours ouvrés restants",
        )
    else:
        left = _count(
            remaining_calendar_days(due_at=due_at, now=now, counted_from=counted_from),
            "jour restant",
            "jours restants",
        )
    return f"{left} — {due_display(due_at)}"


# Suspended clocks

_STATE_LABELS = {
    "not_started": "non démarrée",
    "running": "en cours",
    "paused": "suspendue",
    "stopped": "arrêtée",
}


def _replay(
    events: Sequence[tuple[datetime, ClockEventKind]], now: datetime
) -> tuple[timedelta, str, list[tuple[datetime, datetime]]]:
    """Check the events and return (running time, state, running stretches).

    state is "running", "paused" or "stopped". Stretches are (begin, end) intervals in UTC,
    the current one ending at now.
    """
    _require_aware(now, "now")
    if not events:
        raise ValueError("Horloge sans événement : le premier doit être « start ».")
    stretches: list[tuple[datetime, datetime]] = []
    state = "not_started"
    running_since: datetime | None = None
    previous: datetime | None = None
    for position, event in enumerate(events):
        if not (isinstance(event, tuple) and len(event) == 2 and isinstance(event[0], datetime)):
            raise ValueError(f"Événement n°{position} : attendu (instant, type), reçu {event!r}.")
        at, kind = event
        _require_aware(at, f"événement n°{position} ({kind})")
        at = at.astimezone(UTC)
        if kind not in CLOCK_EVENT_KINDS:
            raise ValueError(f"Événement n°{position} : type inconnu {kind!r}.")
        if previous is not None and at < previous:
            raise ValueError(
                f"Événement n°{position} ({kind}, {at.isoformat()}) antérieur au précédent "
                f"({previous.isoformat()}) : les événements doivent être dans l’ordre du temps."
            )
        if at > now:
            raise ValueError(
                f"Événement n°{position} ({kind}, {at.isoformat()}) postérieur à maintenant "
                f"({now.isoformat()})."
            )
        allowed = {
            "not_started": {"start"},
            "running": {"pause", "stop"},
            "paused": {"resume", "stop"},
            "stopped": set(),
        }[state]
        if kind not in allowed:
            raise ValueError(
                f"Événement n°{position} : « {kind} » impossible quand l’horloge est "
                f"{_STATE_LABELS[state]}."
            )
        if kind in {"start", "resume"}:
            running_since = at
            state = "running"
        else:
            if state == "running":
                stretches.append((running_since, at))
            running_since = None
            state = "paused" if kind == "pause" else "stopped"
        previous = at
    if state == "running":
        stretches.append((running_since, now.astimezone(UTC)))
    elapsed = sum((end - begin for begin, end in stretches), timedelta(0))
    return elapsed, state, stretches


def running_duration(
    *, events: Sequence[tuple[datetime, ClockEventKind]], now: datetime
) -> timedelta:
    """Real time the clock has run up to now, net of suspensions, from its stored events.

    events are (at, kind) tuples in time order, kind being "start", "pause", "resume" or
    "stop": one start first, then pause/resume alternating, optionally one stop last (from
    running or paused). Equal instants are allowed. Raises ValueError for any other
    sequence, for an event after now, or for a naive datetime.
    """
    elapsed, _state, _stretches = _replay(events, now)
    return elapsed


def deadline_with_suspensions(
    *, events: Sequence[tuple[datetime, ClockEventKind]], duration: timedelta, now: datetime
) -> datetime | None:
    """The instant (UTC) the running time reaches `duration` (e.g. the indicative 6 weeks).

    - already reached: the instant it was reached, whatever the clock does since;
    - running: now + what is left, i.e. the answer if the clock keeps running;
    - paused or stopped before reaching it: None, there is no date until it runs again.

    Durations are real time: 6 weeks across a DST change end an hour off in Paris wall time.
    """
    if not isinstance(duration, timedelta) or duration <= timedelta(0):
        raise ValueError(
            f"duration doit être une durée strictement positive (reçu : {duration!r})."
        )
    elapsed, state, stretches = _replay(events, now)
    before = timedelta(0)
    for begin, end in stretches:
        if before + (end - begin) >= duration:
            return begin + (duration - before)
        before += end - begin
    if state != "running":
        return None
    return now.astimezone(UTC) + (duration - elapsed)
