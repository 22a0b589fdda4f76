"""What a column can hold, read from the schema, and the checks that keep rows inside it.

PostgreSQL refuses a 65-character string in a ``String(64)`` column, a NUL byte, or an integer
beyond its column's range, in the middle of a write; SQLite quietly stores all of them. Parsers
and the shared write path therefore check rows against the limits ``core.tables`` declares
(lengths, integer ranges, finite floats, storable text) before anything is written, so both
engines accept and refuse the same values, and a bad value is one clear ``SourceDataError``.
"""

from __future__ import annotations

import math
import operator
import re
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, Final, SupportsIndex

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, SmallInteger, String

from core.errors import SourceDataError
from core.tables import Base

__all__ = [
    "INT16_RANGE",
    "INT32_RANGE",
    "INT64_RANGE",
    "MAX_SHOWN_CHARS",
    "ColumnKind",
    "ColumnLimit",
    "check_rows",
    "column_limits",
    "row_problem",
    "shorten",
    "storable",
    "value_problem",
]

# Ranges of SQL SMALLINT / INTEGER / BIGINT: PostgreSQL enforces them; SQLite stores 64 bits.
INT16_RANGE: Final = (-(2**15), 2**15 - 1)
INT32_RANGE: Final = (-(2**31), 2**31 - 1)
INT64_RANGE: Final = (-(2**63), 2**63 - 1)
# Values quoted in an error message are cut to this: a message stays one short line even when
# the value is a megabyte of garbage.
MAX_SHOWN_CHARS: Final = 60

# Unicode control characters (category Cc) and lone surrogates: not part of any name.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# What neither engine can store in free text: NUL (PostgreSQL) and lone surrogates (not UTF-8).
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")

_SHORT = reprlib.Repr()
_SHORT.maxstring = MAX_SHOWN_CHARS
_SHORT.maxother = MAX_SHOWN_CHARS
_SHORT.maxlong = MAX_SHOWN_CHARS
_SHORT.maxlevel = 2
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4


def shorten(value: object) -> str:
    """``repr(value)`` cut to about :data:`MAX_SHOWN_CHARS`, escapes included: fit for a message."""
    try:
        return _SHORT.repr(value)
    except ValueError:  # an integer beyond Python's int-to-text digit limit, say
        return f"<{type(value).__name__} too large to show>"


def storable(text: str, *, max_chars: int | None = None) -> str:
    """``text`` made fit for a column: unstorable characters escaped, cut to ``max_chars``.

    For our own records (error messages of a run), where refusing would lose the record.
    """
    fitted = _UNSTORABLE.sub(lambda m: ascii(m.group())[1:-1], text)
    if max_chars is not None and len(fitted) > max_chars:
        fitted = fitted[: max_chars - 1] + "…"
    return fitted


class ColumnKind(StrEnum):
    NAME = "name"  # String(n): a name, label or key; bounded, no control characters
    TEXT = "text"  # Text: free text; no NUL, no lone surrogates
    INTEGER = "integer"
    FLOAT = "float"
    OTHER = "other"  # datetimes (checked by UTCDateTime), booleans, JSON


@dataclass(frozen=True, slots=True)
class ColumnLimit:
    """What one column accepts."""

    kind: ColumnKind
    max_chars: int | None = None  # NAME columns
    int_range: tuple[int, int] | None = None  # INTEGER columns
    primary_key: bool = False


def _limit(column: Any) -> ColumnLimit:
    col_type, pk = column.type, bool(column.primary_key)
    if isinstance(col_type, Boolean | JSON):
        return ColumnLimit(ColumnKind.OTHER, primary_key=pk)
    if isinstance(col_type, String):  # Text is a String without a length
        if col_type.length is None:
            return ColumnLimit(ColumnKind.TEXT, primary_key=pk)
        return ColumnLimit(ColumnKind.NAME, max_chars=int(col_type.length), primary_key=pk)
    if isinstance(col_type, BigInteger):  # subclasses of Integer: test them first
        return ColumnLimit(ColumnKind.INTEGER, int_range=INT64_RANGE, primary_key=pk)
    if isinstance(col_type, SmallInteger):
        return ColumnLimit(ColumnKind.INTEGER, int_range=INT16_RANGE, primary_key=pk)
    if isinstance(col_type, Integer):
        return ColumnLimit(ColumnKind.INTEGER, int_range=INT32_RANGE, primary_key=pk)
    if isinstance(col_type, Float):
        return ColumnLimit(ColumnKind.FLOAT, primary_key=pk)
    return ColumnLimit(ColumnKind.OTHER, primary_key=pk)


@cache
def column_limits(table: str) -> Mapping[str, ColumnLimit]:
    """Every column of ``table`` with what it accepts, read from the ORM schema."""
    try:
        columns = Base.metadata.tables[table].columns
    except KeyError:
        raise ValueError(f"unknown table {table!r}") from None
    return {c.name: _limit(c) for c in columns}


def _text_problem(value: object, limit: ColumnLimit) -> str | None:
    if not isinstance(value, str):
        return f"is {shorten(value)}, expected text"
    if limit.max_chars is not None and len(value) > limit.max_chars:
        return (
            f"{shorten(value)} is {len(value)} characters, longer than the {limit.max_chars} "
            "the column holds"
        )
    # Key columns are names even when unbounded (the sorted type list of a placement score).
    names = limit.kind is ColumnKind.NAME or limit.primary_key
    if (_CONTROL if names else _UNSTORABLE).search(value):
        what = "a control character" if names else "a NUL byte or a lone surrogate"
        return f"{shorten(value)} contains {what}"
    return None


def _integer_problem(value: object, limit: ColumnLimit) -> str | None:
    if not isinstance(value, SupportsIndex):  # int, bool and numpy integers; not floats
        return f"is {shorten(value)}, expected a whole number"
    number = operator.index(value)
    lo, hi = limit.int_range or INT64_RANGE
    if not lo <= number <= hi:
        return f"{shorten(value)} is outside the column's range {lo}..{hi}"
    return None


def _float_problem(value: object) -> str | None:
    if isinstance(value, str | bytes) or not hasattr(value, "__float__"):
        return f"is {shorten(value)}, expected a number"
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):
        return f"{shorten(value)} is too large for a float"
    if not math.isfinite(number):
        return f"is {shorten(value)}, expected a finite number"
    return None


def value_problem(limit: ColumnLimit, value: object) -> str | None:
    """Why ``value`` cannot go into a column with ``limit`` (None = it can; NULL always can:
    the database itself enforces NOT NULL, the same way on both engines)."""
    if value is None or limit.kind is ColumnKind.OTHER:
        return None
    if limit.kind is ColumnKind.INTEGER:
        return _integer_problem(value, limit)
    if limit.kind is ColumnKind.FLOAT:
        return _float_problem(value)
    return _text_problem(value, limit)


def row_problem(table: str, row: Mapping[str, Any]) -> str | None:
    """The first value of ``row`` that ``table`` cannot hold, as ``"<column> <why>"``."""
    limits = column_limits(table)
    for column, value in row.items():
        limit = limits.get(column)
        if limit is None:
            continue  # an unknown column is the ORM's error, raised on any engine
        problem = value_problem(limit, value)
        if problem is not None:
            return f"{column} {problem}"
    return None


def _column_fits(limit: ColumnLimit, values: list[Any]) -> bool:
    """Whole-column check in C-speed builtins; False only means "look closer"."""
    try:
        # Columns repeat a few names and numbers many times: check each distinct value once.
        distinct = set(values)
    except TypeError:  # an unhashable value is no column value
        return False
    distinct.discard(None)
    if not distinct:
        return True
    kinds = set(map(type, distinct))
    try:
        if limit.kind is ColumnKind.INTEGER:
            lo, hi = limit.int_range or INT64_RANGE
            return kinds <= {int, bool} and lo <= min(distinct) and max(distinct) <= hi
        if limit.kind is ColumnKind.FLOAT:
            # NaN and ±inf survive a sum; an overflowing sum of finite values only costs a
            # closer look.
            return kinds <= {float, int} and math.isfinite(math.fsum(distinct))
        if kinds != {str}:
            return False
        if limit.max_chars is not None and max(map(len, distinct)) > limit.max_chars:
            return False
        names = limit.kind is ColumnKind.NAME or limit.primary_key
        return (_CONTROL if names else _UNSTORABLE).search("".join(distinct)) is None
    except (OverflowError, TypeError, ValueError):
        return False


def check_rows(table: str, rows: Sequence[Mapping[str, Any]], *, where: str) -> None:
    """Raise :class:`SourceDataError` naming ``where``, the column and the value when a row
    holds a value ``table`` cannot store; cheap enough for every write (a pass per column).

    The columns are the first row's: the write path takes its columns from it too.
    """
    if not rows:
        return
    limits = column_limits(table)
    for column in rows[0]:
        limit = limits.get(column)
        if limit is None or limit.kind is ColumnKind.OTHER:
            continue
        values = [row.get(column) for row in rows]
        if _column_fits(limit, values):
            continue
        for value in values:
            problem = value_problem(limit, value)
            if problem is not None:
                raise SourceDataError(f"{where}: {table}.{column} {problem}")
