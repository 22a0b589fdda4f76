"""`spotsel rank`: the ranking vocabulary (`selector.Requirements`) as flags, one per field.

The flags are handed to `selector.parse_requirements` by name, as the REST body and the profile
YAML are, so all three fail the same way; `FLAG_FIELDS` names the one flag spelled differently
from its field. tests/spotsel/test_rank_flags.py checks that every field has a flag and that
every flag reaches its field.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from selector import Requirements, parse_requirements
from spotsel.commands.collect import parse_as_of
from spotsel.commands.common import OutputFormat
from spotsel.consoles import err, out
from spotsel.state import app_state, load_pools

if TYPE_CHECKING:
    from selector import PoolIndex, Ranking

__all__ = ["FLAG_FIELDS", "NOT_REQUIREMENTS", "rank_command", "requirements_from_flags"]

# Parameters of `rank_command` named differently from the Requirements field they set
# (``--gpu-memory`` reads better on a command line than ``--gpu-memory-gib``).
FLAG_FIELDS: Final = {"gpu_memory": "gpu_memory_gib"}
# Parameters of `rank_command` that are not requirements.
NOT_REQUIREMENTS: Final = frozenset({"output", "wide", "as_of"})


def _default(field: str) -> str:
    """``(default X)`` for --help: the selector's own default of FIELD."""
    value = getattr(Requirements(), field)
    return f"(default {value:g})" if isinstance(value, float) else f"(default {value})"


def requirements_from_flags(params: Mapping[str, Any]) -> Requirements:
    """The command's parameters (only those given) → validated requirements.

    Ranges and comma lists stay text: `parse_requirements` reads ``4:16`` and ``a,b`` itself.
    """
    return parse_requirements(
        {
            FLAG_FIELDS.get(name, name): value
            for name, value in params.items()
            if name not in NOT_REQUIREMENTS and value is not None
        }
    )


def rank(index: PoolIndex, requirements: Requirements, *, now: datetime) -> Ranking:
    """`selector.rank`, imported when a ranking is asked for, not to declare the flags."""
    from selector import rank as rank_pools

    return rank_pools(index, requirements, now=now)


def rank_command(
    ctx: typer.Context,
    vcpus: Annotated[
        str | None, typer.Option(help="vCPU range, e.g. 4:16, 8:, :32 or 8 (default any).")
    ] = None,
    memory_gib: Annotated[
        str | None, typer.Option(help="Memory range in GiB, e.g. 16: (default any).")
    ] = None,
    gpus: Annotated[
        int | None, typer.Option(help="GPUs per node, 0 = CPU only (default any).")
    ] = None,
    gpu_memory: Annotated[
        float | None, typer.Option("--gpu-memory", help="Minimum GiB per GPU (default any).")
    ] = None,
    gpu_models: Annotated[
        str | None,
        typer.Option(help="Comma list of GPU models or classes, e.g. A10G,L4 (default any)."),
    ] = None,
    arch: Annotated[str | None, typer.Option(help="x86_64 or arm64 (default either).")] = None,
    clouds: Annotated[
        str | None, typer.Option(help="Comma list: aws,gcp,azure (default all).")
    ] = None,
    regions: Annotated[
        str | None, typer.Option(help="Comma list of regions (default any).")
    ] = None,
    capacity_types: Annotated[
        str | None, typer.Option(help="Comma list: spot,on-demand (default both).")
    ] = None,
    nodes: Annotated[
        int | None, typer.Option(help=f"Nodes to place (capacity split) {_default('nodes')}.")
    ] = None,
    max_price: Annotated[
        float | None, typer.Option(help="Max $/h per node (default no limit).")
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help=f"effective-cost | price | capacity | price-capacity {_default('strategy')}."
        ),
    ] = None,
    cost_tie_band: Annotated[
        float | None,
        typer.Option(
            help="effective-cost: costs within this fraction of each other tie, and λ, capacity "
            f"and zone signals decide among them; 0 = none {_default('cost_tie_band')}."
        ),
    ] = None,
    top: Annotated[int | None, typer.Option(help=f"Pools to return {_default('top')}.")] = None,
    checkpoint_interval_minutes: Annotated[
        float | None,
        typer.Option(
            help=f"Minutes between checkpoints {_default('checkpoint_interval_minutes')}."
        ),
    ] = None,
    final_checkpoint_seconds: Annotated[
        float | None,
        typer.Option(
            help="Seconds to write a final checkpoint on the interruption notice "
            f"{_default('final_checkpoint_seconds')}."
        ),
    ] = None,
    restart_overhead_minutes: Annotated[
        float | None,
        typer.Option(
            help="Minutes lost per restart: new node, image pull, checkpoint load "
            f"{_default('restart_overhead_minutes')}."
        ),
    ] = None,
    min_instance_types: Annotated[
        int | None,
        typer.Option(help=f"At least this many instance types {_default('min_instance_types')}."),
    ] = None,
    max_share_per_type: Annotated[
        float | None,
        typer.Option(help=f"Largest share of nodes on one type {_default('max_share_per_type')}."),
    ] = None,
    max_share_per_family: Annotated[
        float | None,
        typer.Option(
            help=f"Largest share of nodes in one family {_default('max_share_per_family')}."
        ),
    ] = None,
    max_share_per_zone: Annotated[
        float | None,
        typer.Option(help=f"Largest share of nodes in one zone {_default('max_share_per_zone')}."),
    ] = None,
    min_zones: Annotated[
        int | None,
        typer.Option(help=f"At least this many zones {_default('min_zones')}."),
    ] = None,
    max_price_age_hours: Annotated[
        float | None,
        typer.Option(
            help="Leave out pools whose price is older than this many hours "
            f"{_default('max_price_age_hours')}."
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            help="Which data to rank: auto (real pools only when the store holds any, else "
            "the simulated ones), real, simulated, or any (both mixed) (default auto)."
        ),
    ] = None,
    on_demand_discounts: Annotated[
        str | None,
        typer.Option(
            help="Fraction off the on-demand list price (Savings Plans, RIs) per cloud, "
            "cloud/family or cloud/region/family, e.g. aws=0.2,aws/p5=0.45,aws/us-east-1/g5=0.3 "
            "(aws/us-east-1/* = a whole region); the most specific rule wins. Laid over "
            "SPOTSEL_ON_DEMAND_DISCOUNTS rule by rule (default: that setting, else list prices)."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Rank the store as it stood at this ISO 8601 time, not in the future: the "
            "signals in force then, their ages measured from then (default now)."
        ),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--output",
            "-o",
            show_default=False,
            help="table (for people) or json (for scripts) (default table).",
        ),
    ] = OutputFormat.TABLE,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help="Table: every field as a column (region, savings, λ interval, signal ages, "
            "flags, sources), at its natural width (default off: a table that reads at 100 "
            "columns).",
        ),
    ] = False,
) -> None:
    """Rank diversified instance-type × zone pools for a workload.

    An answer built from any simulated pool says so at the top (table: a banner; JSON:
    "simulated": true and the "sources").
    """
    from selector.requirements import with_default_discounts
    from spotsel import render_ranking
    from spotsel.price_age import stale_price_hint

    # Every flag by name from the parsed parameters: a new flag cannot be declared and forgotten.
    requirements = with_default_discounts(
        requirements_from_flags(ctx.params), app_state(ctx).get_settings().discounts
    )
    when = parse_as_of(as_of)
    # Loading every pool's signals takes seconds at scale: say so on stderr meanwhile.
    with err.status("Loading the pool index from the store…"):
        pools = load_pools(app_state(ctx), as_of=when)
    ranking = rank(pools.index, requirements, now=pools.now)
    # An empty answer only because every matching price is too old says how to get one.
    hint = stale_price_hint(pools.index, requirements, ranking)
    if output is OutputFormat.JSON:
        answer = ranking.to_dict() | ({"hint": hint} if hint else {})
        sys.stdout.write(json.dumps(answer, indent=2) + "\n")
        return
    render_ranking.print_ranking(out, ranking, wide=wide)
    if hint:
        out.print(f"Hint: {hint}", markup=False)
