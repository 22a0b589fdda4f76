"""The ``aws`` source: per region, inventory, zone map, spot and on-demand prices, placement.

Each region is collected on its own; a region that errors (or comes back empty) is recorded as
a :class:`~core.runs.RegionError` and the others carry on. Credentials are checked once up
front (STS ``get_caller_identity``, which also yields the account the zone map belongs to), so
a missing or expired credential is one clear line instead of one failure per region.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collectors.aws.clients import (
    AwsClientFactory,
    aws_client_factory,
    error_code,
    one_line,
    raise_if_credentials,
)
from collectors.aws.inventory import (
    fetch_instance_types,
    fetch_offerings,
    fetch_zones,
    parse_instance_types,
    parse_offerings,
    parse_zones,
    usage_classes,
)
from collectors.aws.placement import (
    QUOTA_ERROR_CODE,
    PlacementConfig,
    PlacementPlan,
    fetch_placement_scores,
    parse_placement_scores,
    placement_configs,
    placement_history,
    plan_placement,
)
from collectors.aws.pricing import PRICING_REGION, fetch_on_demand, parse_price_list
from collectors.aws.spot_prices import (
    fetch_spot_price_history,
    parse_spot_prices,
    spot_watermarks,
    spot_window_start,
)
from collectors.base import CollectContext
from core.clock import utcnow
from core.errors import ConfigError, SourceDataError, SpotselError
from core.limits import column_limits, value_problem
from core.runs import CollectionResult, RegionError, TableRows
from selector import SelectorError

__all__ = ["AWS_SOURCE", "AwsSource", "EmptyRegionError"]

log = logging.getLogger(__name__)

# Fixed steps of one region's progress stage: zones, instance types, offerings, spot prices,
# on-demand prices (placement configurations come on top).
_FIXED_STEPS = 5


class EmptyRegionError(SourceDataError):
    """A region answered but held nothing: a failure, never a replacement of stored data."""


# What can go wrong inside one region without stopping the others: the cloud's answers
# (ClientError, network/endpoint errors after retries), an empty answer, an answer that does
# not parse or holds a value the store cannot (SourceDataError). A bare KeyError or ValueError
# is a bug of ours: it fails the run with a traceback instead of hiding in a "partial".
_REGION_ERRORS = (
    ClientError,
    BotoCoreError,
    EmptyRegionError,
    SelectorError,
    SourceDataError,
)


@dataclass
class _PlacementBudget:
    """Tracks, during one run, what the plan allowed and what AWS actually granted."""

    plan: PlacementPlan
    spent: list[PlacementConfig] = field(default_factory=list)
    refused: list[PlacementConfig] = field(default_factory=list)
    quota_exhausted: bool = False

    def may_ask(self, config: PlacementConfig) -> bool:
        if config in self.plan.reused:
            return True
        return config in self.plan.new and not self.quota_exhausted

    def log_fields(self) -> dict[str, Any]:
        return {
            **self.plan.log_fields(),
            "spent": [f"{c.types_key}@{'+'.join(c.regions)}" for c in self.spent],
            "refused": [f"{c.types_key}@{'+'.join(c.regions)}" for c in self.refused],
            "quota_exhausted": self.quota_exhausted,
        }


@dataclass(frozen=True)
class AwsSource:
    """Real AWS data through the account's standard credential chain.

    Options: ``regions`` (list of region names; default ``settings.aws_regions``).
    """

    name: str = "aws"
    description: str = (
        "AWS: instance types, offerings, zone map, spot and on-demand prices, placement scores"
    )
    simulated: bool = False
    option_names: frozenset[str] = frozenset({"regions"})

    def collect(self, ctx: CollectContext) -> CollectionResult:
        regions = _regions(ctx)
        factory = aws_client_factory(ctx)
        started = utcnow()
        account = _account(factory, regions[0])
        watermarks = spot_watermarks(ctx.engine, regions=regions)
        configs = placement_configs(
            ctx.settings.aws_placement_type_sets,
            regions=regions,
            target_capacity=ctx.settings.aws_placement_target_capacity,
        )
        plan = plan_placement(
            configs,
            history=placement_history(ctx.engine, now=ctx.now),
            now=ctx.now,
            limit=ctx.settings.aws_placement_daily_config_limit,
        )
        budget = _PlacementBudget(plan)
        log.info("aws placement plan", extra=plan.log_fields())
        pricing: list[Any] = []  # built on first use, shared by all regions
        rows = TableRows()
        errors: list[RegionError] = []
        for region in regions:
            region_configs = [c for c in configs if c.regions == (region,)]
            ctx.progress.stage(f"aws {region}", _FIXED_STEPS + len(region_configs))
            try:
                region_rows = _collect_region(
                    ctx,
                    factory,
                    region=region,
                    account=account,
                    watermark=watermarks.get(region),
                    pricing=pricing,
                    configs=region_configs,
                    budget=budget,
                )
            except _REGION_ERRORS as exc:
                errors.append(RegionError(region, error_code(exc), one_line(exc)))
                log.warning(
                    "aws region failed",
                    extra={"region": region, "error_class": error_code(exc)},
                )
                continue
            for table, items in region_rows.items():
                rows.add(table, items)
        log.info("aws placement queries", extra=budget.log_fields())
        return CollectionResult(
            source=self.name,
            started_at=started,
            finished_at=utcnow(),
            regions=tuple(regions),
            rows=rows,
            errors=tuple(errors),
        )


def _regions(ctx: CollectContext) -> list[str]:
    value = ctx.options.get("regions") or ctx.settings.aws_regions
    if isinstance(value, str) or not all(isinstance(r, str) and r.strip() for r in value):
        raise ConfigError("regions must be a list of AWS region names, e.g. us-east-1,eu-west-1")
    regions = list(dict.fromkeys(r.strip() for r in value))
    if not regions:
        raise ConfigError("no AWS regions to collect: set SPOTSEL_AWS_REGIONS or --regions")
    limit = column_limits("offerings")["region"]
    for region in regions:
        problem = value_problem(limit, region)
        if problem is not None:
            raise ConfigError(f"region {problem}")
    return regions


def _account(factory: AwsClientFactory, region: str) -> str:
    """The account ID the credentials belong to; credential problems become one line."""
    try:
        identity = factory("sts", region).get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        raise_if_credentials(exc, where="sts:GetCallerIdentity")
        raise SpotselError(
            f"AWS STS GetCallerIdentity failed: {error_code(exc)}: {one_line(exc)}"
        ) from exc
    return str(identity["Account"])


def _collect_region(
    ctx: CollectContext,
    factory: AwsClientFactory,
    *,
    region: str,
    account: str,
    watermark: Any,
    pricing: list[Any],
    configs: Sequence[PlacementConfig],
    budget: _PlacementBudget,
) -> dict[str, list[dict[str, Any]]]:
    now, step = ctx.now, ctx.progress.advance
    ec2 = factory("ec2", region)
    zones = parse_zones(fetch_zones(ec2), account=account, region=region, observed_at=now)
    step()
    type_records = fetch_instance_types(ec2)
    types = parse_instance_types(type_records, observed_at=now)
    step()
    offerings = parse_offerings(
        fetch_offerings(ec2), region=region, usage=usage_classes(type_records), observed_at=now
    )
    step()
    if not types or not offerings:
        raise EmptyRegionError(f"{region} returned no instance types or offerings")
    start = spot_window_start(
        watermark=watermark, now=now, lookback_days=ctx.settings.aws_spot_lookback_days
    )
    spot = parse_spot_prices(
        fetch_spot_price_history(ec2, start=start, end=now),
        region=region,
        zone_ids={z["zone_name"]: z["zone_id"] for z in zones},
        observed_at=now,
    )
    step()
    if not spot:
        raise EmptyRegionError(f"{region} returned no Linux/UNIX spot prices since {start:%F %T}")
    if not pricing:
        pricing.append(factory("pricing", PRICING_REGION))
    on_demand = parse_price_list(
        fetch_on_demand(pricing[0], region=region), region=region, observed_at=now
    )
    if not on_demand:
        log.warning("no on-demand prices", extra={"region": region})
    step()
    return {
        "instance_types": types,
        "zones": zones,
        "offerings": offerings,
        "spot_prices": spot,
        "on_demand_prices": on_demand,
        "placement_scores": _placement(ec2, configs, budget, ctx),
    }


def _placement(
    ec2: Any, configs: Sequence[PlacementConfig], budget: _PlacementBudget, ctx: CollectContext
) -> list[dict[str, Any]]:
    """Scores for the region's configurations the budget allows; quota refusal degrades."""
    rows: list[dict[str, Any]] = []
    for config in configs:
        ctx.progress.advance()
        if not budget.may_ask(config):
            continue
        try:
            records = fetch_placement_scores(ec2, config)
        except ClientError as exc:
            if error_code(exc) != QUOTA_ERROR_CODE:
                raise
            budget.quota_exhausted = True
            budget.refused.append(config)
            log.warning(
                "aws placement quota exhausted; keeping the scores obtained",
                extra={"instance_types": config.types_key, "regions": list(config.regions)},
            )
            continue
        if config in budget.plan.new:
            budget.spent.append(config)
        rows.extend(parse_placement_scores(records, config=config, observed_at=ctx.now))
    return rows


AWS_SOURCE = AwsSource()
