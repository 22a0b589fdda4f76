"""A collection run as a value: the rows a source produced and how each region fared.

Collectors build a :class:`CollectionResult`; :func:`core.store.persist_run` writes it in one
transaction. Status follows one rule: a region with an error or with no rows failed; the run is
``ok`` when every region succeeded, ``failed`` when none did, ``partial`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "WRITE_ORDER",
    "CollectionResult",
    "CommittedRows",
    "RegionError",
    "RunStatus",
    "TableRows",
]

Row = dict[str, Any]

# Tables a collector may write, in dependency order (specs before the pools that use them).
WRITE_ORDER: tuple[str, ...] = (
    "instance_types",
    "zones",
    "offerings",
    "on_demand_prices",
    "spot_prices",
    "placement_scores",
    "interruption_rates",
    "fleet_events",
)


class RunStatus(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RegionError:
    region: str
    error_class: str
    message: str


@dataclass
class TableRows:
    """Rows per table, each row a plain dict of column values."""

    by_table: dict[str, list[Row]] = field(default_factory=dict)

    def add(self, table: str, rows: Iterable[Row]) -> None:
        if table not in WRITE_ORDER:
            raise ValueError(f"unknown table {table!r}")
        self.by_table.setdefault(table, []).extend(rows)

    def count(self) -> int:
        return sum(len(rows) for rows in self.by_table.values())

    def rows_per_region(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rows in self.by_table.values():
            for row in rows:
                region = row.get("region")
                if region is not None:
                    counts[region] = counts.get(region, 0) + 1
        return counts


@dataclass(frozen=True, slots=True)
class CommittedRows:
    """Rows a source committed itself before its run is recorded: an ingest that must commit
    before the source acknowledges its input (a queue deletes a message only once it is
    stored). The run counts them; they are not written again. A source that reports them
    ran to the end, so zero rows (an empty queue) is an ``ok`` run, not an empty fetch."""

    written: int = 0
    new: int = 0
    observed_at: datetime | None = None


@dataclass(frozen=True)
class CollectionResult:
    """Everything one run of one source produced."""

    source: str
    started_at: datetime
    finished_at: datetime
    regions: tuple[str, ...]
    rows: TableRows
    errors: tuple[RegionError, ...] = ()
    # Rows that belong to no region (instance specs of a global catalog, say).
    global_tables: frozenset[str] = frozenset({"instance_types"})
    committed: CommittedRows | None = None

    def region_rows(self) -> Mapping[str, int]:
        return self.rows.rows_per_region()

    def failed_regions(self, counts: Mapping[str, int] | None = None) -> dict[str, RegionError]:
        """Regions that errored or came back empty (empty counts as failure); ``counts`` are
        the rows per region when the caller has them already (a pass over every row)."""
        failed = {err.region: err for err in self.errors}
        if counts is None:
            counts = self.region_rows()
        for region in self.regions:
            if region not in failed and counts.get(region, 0) == 0:
                failed[region] = RegionError(region, "EmptyResult", "the source returned no rows")
        return failed

    @property
    def status(self) -> RunStatus:
        return self.status_given(self.failed_regions())

    def status_given(self, failed: Mapping[str, RegionError]) -> RunStatus:
        """The run's status given its failed regions (``failed_regions()``)."""
        if not self.regions:
            if self.committed is not None:
                return RunStatus.PARTIAL if self.errors else RunStatus.OK
            return RunStatus.OK if self.rows.count() else RunStatus.FAILED
        if not failed:
            return RunStatus.OK
        # An error that names no collected region (e.g. a source-wide extra such as GCP advice,
        # region "*") spoils the run only partly: the regions' own rows stand.
        if len(set(failed) & set(self.regions)) >= len(self.regions):
            return RunStatus.FAILED
        return RunStatus.PARTIAL
