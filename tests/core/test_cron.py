"""Crontab expressions: what each field means, and one-line refusals of what is not one."""

from __future__ import annotations

import pytest

from core.cron import parse_cron


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        pytest.param("0 6 * * 1", ("0", "6", "*", "*", "mon"), id="crontab 1 is Monday"),
        pytest.param("0 6 * * 0", ("0", "6", "*", "*", "sun"), id="0 is Sunday"),
        pytest.param("0 6 * * 7", ("0", "6", "*", "*", "sun"), id="7 is Sunday too"),
        pytest.param("0 6 * * 5-7", ("0", "6", "*", "*", "sun,fri,sat"), id="range to 7"),
        pytest.param("0 6 * * Mon-Wed", ("0", "6", "*", "*", "mon,tue,wed"), id="names"),
        pytest.param("*/15 0-6/2 1,15 * *", ("*/15", "0-6/2", "1,15", "*", "*"), id="steps, lists"),
        pytest.param("  0  6 * *  1 ", ("0", "6", "*", "*", "mon"), id="extra spaces"),
    ],
)  # fmt: skip
def test_fields_mean_what_crontab_means(text: str, fields: tuple[str, ...]) -> None:
    spec = parse_cron(text)
    assert tuple(spec.trigger_fields().values()) == fields
    assert spec.text == " ".join(text.split())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("0 6 * *", "has 4 fields, not 5", id="too few fields"),
        pytest.param("0 6 * * 1 2026", "has 6 fields", id="a year field"),
        pytest.param("60 6 * * 1", "60 is outside 0-59", id="minute out of range"),
        pytest.param("0 24 * * 1", "24 is outside 0-23", id="hour out of range"),
        pytest.param("0 6 0 * *", "0 is outside 1-31", id="day 0"),
        pytest.param("0 6 * 13 *", "13 is outside 1-12", id="month 13"),
        pytest.param("0 6 * * 8", "'8' is not 0-7", id="weekday 8"),
        pytest.param("0 6 * * */2", "steps are not supported", id="weekday step"),
        pytest.param("5-1 * * * *", "runs backwards", id="backwards range"),
        pytest.param("*/0 * * * *", "step of 0", id="zero step"),
        pytest.param("x 6 * * 1", "'x' is not", id="junk"),
        pytest.param("0 6 1 * 1", "restricts both", id="crontab ORs day and weekday"),
    ],
)  # fmt: skip
def test_a_malformed_expression_is_one_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_cron(text)
    assert "\n" not in str(info.value)
