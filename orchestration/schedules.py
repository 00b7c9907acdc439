"""A deployment's schedule in words, as the Pipelines page shows it: "every minute", "daily at
06:00 (UTC)", "weekly on Monday at 06:00 (UTC)".

Prefect keeps a schedule as a cron expression, an interval in seconds or an RRule. The common
cron shapes of dataset specs are written out; anything else is shown as the expression itself,
which is still exact, rather than guessed at.
"""

from __future__ import annotations

from typing import Any

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


def describe(schedule: dict[str, Any]) -> str:
    """A Prefect schedule (the ``schedule`` object of a deployment schedule) in words."""
    zone = schedule.get("timezone") or "UTC"
    if "cron" in schedule:
        return f"{describe_cron(str(schedule['cron']))} ({zone})"
    if "interval" in schedule:
        return describe_interval(float(schedule["interval"]))
    if "rrule" in schedule:
        return f"rrule {schedule['rrule']} ({zone})"
    return "custom schedule"


def describe_interval(seconds: float) -> str:
    for size, unit in UNITS:
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    return f"every {seconds:g} seconds"


def describe_cron(expression: str) -> str:
    fields = expression.split()
    if len(fields) != 5:
        return f"cron '{expression}'"
    minute, hour, day, month, weekday = fields
    if month != "*":
        return f"cron '{expression}'"
    if (minute, hour, day, weekday) == ("*", "*", "*", "*"):
        return "every minute"
    if minute.startswith("*/") and minute[2:].isdigit() and (hour, day, weekday) == ("*", "*", "*"):
        return describe_interval(60 * int(minute[2:]))
    if not (minute.isdigit() and int(minute) < 60):
        return f"cron '{expression}'"
    if (hour, day, weekday) == ("*", "*", "*"):
        return f"hourly at :{int(minute):02d}"
    if not (hour.isdigit() and int(hour) < 24):
        return f"cron '{expression}'"
    at = f"{int(hour):02d}:{int(minute):02d}"
    if (day, weekday) == ("*", "*"):
        return f"daily at {at}"
    if day == "*" and weekday.isdigit() and int(weekday) <= 7:
        return f"weekly on {DAYS[int(weekday) % 7]} at {at}"
    if weekday == "*" and day.isdigit() and 1 <= int(day) <= 31:
        return f"monthly on day {int(day)} at {at}"
    return f"cron '{expression}'"
