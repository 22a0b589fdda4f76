"""The ``azure`` source end to end: the real ComputeManagementClient against the local ARM fake,
the Retail Prices API behind ``httpx.MockTransport``, written through the runner, both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.identity import CredentialUnavailableError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors import get_source
from collectors.base import CollectContext
from collectors.runner import run_source
from core.errors import ConfigError, CredentialsError, SourceDataError
from core.settings import Settings
from core.tables import (
    CollectionRun,
    CollectionRunRegion,
    InstanceType,
    Offering,
    OnDemandPrice,
    SpotPrice,
)
from tests.collectors.azure.builders import (
    FakeRetail,
    azure_source,
    prices_for,
    serve_skus,
    sku_record,
    zone_restriction,
)
from tests.collectors.azure.fakes import SKUS, SUBSCRIPTION, FakeArm, FakeCredential

EAST, WEST = "eastus", "westus2"
T4, A100, D2 = "Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_D2s_v5"
# (on-demand, Spot) $/h per size; D2s has no Spot meter in westus2 here.
PRICES = {T4: (0.526, 0.0789), A100: (3.673, 0.7346), D2: (0.096, 0.0192)}


def _skus() -> dict[str, list[dict[str, Any]]]:
    return {
        EAST: [
            sku_record(T4, EAST, 4, 28, gpus=1, restrictions=[zone_restriction(EAST, ["3"])]),
            sku_record(A100, EAST, 24, 220, gpus=1),
            sku_record(D2, EAST, 2, 8),
            # Listed but not Spot-capable: on demand only.
            sku_record("Standard_A1_v2", EAST, 1, 2, spot=False),
        ],
        WEST: [sku_record(T4, WEST, 4, 28, gpus=1), sku_record(D2, WEST, 2, 8, zones=[])],
    }


def _retail() -> FakeRetail:
    return FakeRetail(
        {
            EAST: prices_for(EAST, PRICES),
            WEST: prices_for(WEST, {T4: PRICES[T4], D2: (0.096, None)}),
        }
    )


def _ctx(settings: Settings, now: datetime, **options: Any) -> CollectContext:
    options.setdefault("subscription", SUBSCRIPTION)
    options.setdefault("regions", [EAST, WEST])
    return CollectContext(settings=settings, now=now, options=options)


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


@pytest.fixture
def fake(fake_arm: FakeArm) -> FakeArm:
    serve_skus(fake_arm, _skus())
    return fake_arm


def test_collect_lands_sizes_offerings_and_prices(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    retail = _retail()
    run = run_source(engine, azure_source(fake, retail), _ctx(settings, now))
    assert run.status == "ok", run.error_message
    # Both SKU pages were read (nextLink followed), with the credential's bearer token.
    sku_calls = fake.seen("GET", SKUS)
    assert len(sku_calls) == 4  # 2 regions × 2 pages
    assert {s.authorization for s in sku_calls} == {"Bearer fake-token"}
    assert sorted(s.query["$filter"][0] for s in sku_calls if "page" not in s.query) == [
        "location eq 'eastus'",
        "location eq 'westus2'",
    ]
    assert sum("page" in s.query for s in sku_calls) == 2
    with Session(engine) as session:
        t4 = session.get(InstanceType, ("azure", T4))
        assert t4 is not None
        assert (t4.gpu_count, t4.gpu_model, t4.gpu_memory_gib) == (1, "T4", 16.0)
        assert t4.source == "azure"
        offered = set(
            session.execute(
                select(Offering.region, Offering.zone_id, Offering.instance_type, Offering.spot)
            ).all()
        )
        od = {
            (r, t): p
            for r, t, p, s in session.execute(
                select(
                    OnDemandPrice.region,
                    OnDemandPrice.instance_type,
                    OnDemandPrice.price_usd_per_hour,
                    OnDemandPrice.source,
                )
            )
            if s == "azure-retail"
        }
        spot = set(
            session.execute(
                select(SpotPrice.zone_id, SpotPrice.instance_type, SpotPrice.price_usd_per_hour)
            ).all()
        )
    # T4 is restricted in eastus zone 3: offered in 1 and 2 only; westus2's D2s has no zones.
    assert (EAST, "eastus-3", T4, True) not in offered
    assert {(EAST, "eastus-1", T4, True), (EAST, "eastus-2", T4, True)} <= offered
    assert (WEST, "", D2, True) in offered
    assert (EAST, "eastus-1", "Standard_A1_v2", False) in offered
    # On-demand Linux prices (not the Windows items beside them).
    assert od[(EAST, T4)] == 0.526
    assert od[(WEST, D2)] == 0.096
    # Spot per offered zone (not the Low Priority items), none for the restricted zone.
    assert {(z, p) for z, t, p in spot if t == T4} == {
        ("eastus-1", 0.0789),
        ("eastus-2", 0.0789),
        ("westus2-1", 0.0789),
        ("westus2-2", 0.0789),
        ("westus2-3", 0.0789),
    }
    assert not any(t == D2 and z == "" for z, t, _ in spot)  # no Spot meter in westus2


def test_an_unchanged_price_is_reconfirmed_and_a_change_is_added(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    retail = _retail()
    source = azure_source(fake, retail)
    run_source(engine, source, _ctx(settings, now))
    first = _count(engine, SpotPrice)
    later = now + timedelta(hours=2)
    run_source(engine, source, _ctx(settings, later))
    assert _count(engine, SpotPrice) == first  # the same changes, confirmed again
    with Session(engine) as session:
        seen = set(session.scalars(select(SpotPrice.observed_at)))
    assert {s.astimezone(UTC) for s in seen} == {later}
    # T4's Spot price moves in eastus with a newer effective date: one row per zone.
    retail.items[EAST] = prices_for(EAST, {**PRICES, T4: (0.526, 0.0811)})
    for item in retail.items[EAST]:
        if item["armSkuName"] == T4 and item["skuName"].endswith(" Spot"):
            item["effectiveStartDate"] = "2026-11-20T00:00:00Z"
    run_source(engine, source, _ctx(settings, later + timedelta(hours=2)))
    assert _count(engine, SpotPrice) == first + 2  # eastus-1 and eastus-2


def test_a_malformed_retail_payload_refuses_the_run_and_writes_nothing(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    retail = _retail()
    retail.items[WEST][1]["retailPrice"] = "cheap"
    with pytest.raises(SourceDataError, match="malformed Retail Prices item"):
        run_source(engine, azure_source(fake, retail), _ctx(settings, now))
    for table in (InstanceType, Offering, OnDemandPrice, SpotPrice):
        assert _count(engine, table) == 0
    with Session(engine) as session:
        assert [r.status for r in session.scalars(select(CollectionRun))] == ["failed"]


def test_a_failing_region_fails_alone_and_keeps_its_last_known_good(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    source = azure_source(fake, _retail())
    assert run_source(engine, source, _ctx(settings, now)).status == "ok"
    east = _count(engine, Offering, Offering.region == EAST)
    bad = FakeRetail(_retail().items)
    bad.failures = [(503, {})] * 5  # eastus's first page: 5 attempts, all 503
    run = run_source(engine, azure_source(fake, bad), _ctx(settings, now + timedelta(hours=1)))
    assert run.status == "partial"
    assert "eastus" in (run.error_message or "")
    # eastus's rows stand as they were (nothing replaced, nothing removed); westus2 was
    # collected again.
    assert _count(engine, Offering, Offering.region == EAST) == east
    with Session(engine) as session:
        seen = dict(
            session.execute(
                select(Offering.region, func.max(Offering.last_seen)).group_by(Offering.region)
            ).all()
        )
    assert seen[EAST].astimezone(UTC) == now
    assert seen[WEST].astimezone(UTC) == now + timedelta(hours=1)


def test_sku_list_errors_fail_their_region(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    fake.fail("GET", SKUS, 500, times=1)  # the first region's first page
    run = run_source(engine, azure_source(fake, _retail()), _ctx(settings, now))
    assert run.status == "partial"
    assert _count(engine, Offering, Offering.region == EAST) == 0
    assert _count(engine, Offering, Offering.region == WEST) > 0
    fake.fail("GET", SKUS, 500, times=2)
    run = run_source(engine, azure_source(fake, _retail()), _ctx(settings, now))
    assert run.status == "failed"


def test_a_region_without_sizes_or_prices_fails(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    retail = _retail()
    retail.items[WEST] = []  # westus2 lists sizes but the API prices none
    run = run_source(
        engine, azure_source(fake, retail), _ctx(settings, now, regions=[EAST, WEST, "uksouth"])
    )
    assert run.status == "partial"
    with Session(engine) as session:
        errors = dict(
            session.execute(
                select(CollectionRunRegion.region, CollectionRunRegion.error_message).where(
                    CollectionRunRegion.run_id == run.id
                )
            ).all()
        )
    assert errors == {
        EAST: None,
        WEST: "the Retail Prices API prices none of its sizes",
        "uksouth": "lists no VM sizes for this subscription",
    }
    assert _count(engine, Offering, Offering.region.in_([WEST, "uksouth"])) == 0


def test_throttling_is_retried_by_the_sdk_policy(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    fake.fail("GET", SKUS, 429, times=2)
    fake.fail("GET", SKUS, 503, times=1)
    source = azure_source(fake, _retail(), retry_total=3, retry_backoff_factor=0.001)
    run = run_source(engine, source, _ctx(settings, now))
    assert run.status == "ok", run.error_message
    assert len(fake.seen("GET", SKUS)) == 4 + 3


def test_refused_credentials_are_one_line(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    fake.fail("GET", SKUS, 403)
    with pytest.raises(CredentialsError) as info:
        run_source(engine, azure_source(fake, _retail()), _ctx(settings, now))
    message = str(info.value)
    assert "\n" not in message
    assert "az login" in message
    assert f"Reader on subscription {SUBSCRIPTION}" in message


class _NoIdentity(FakeCredential):
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise CredentialUnavailableError(message="no identity configured\nsecond line")


def test_an_unavailable_credential_is_one_line_before_any_call(
    engine: Engine, settings: Settings, now: datetime, fake: FakeArm
) -> None:
    source = azure_source(fake, _retail(), credential=_NoIdentity())
    with pytest.raises(CredentialsError, match="CredentialUnavailableError") as info:
        run_source(engine, source, _ctx(settings, now))
    assert "\n" not in str(info.value)
    assert fake.requests == []


def test_default_credential_without_any_identity_is_one_line(
    engine: Engine, settings: Settings, now: datetime, imds_without_identity: FakeArm
) -> None:
    # The production path: DefaultAzureCredential, every AZURE_* variable cleared and managed
    # identity asking a loopback IMDS that has no identity to give (conftest): nothing to sign
    # in with.
    with pytest.raises(CredentialsError, match="az login") as info:
        run_source(engine, get_source("azure"), _ctx(settings, now))
    assert "\n" not in str(info.value)
    assert imds_without_identity.seen("GET", "/metadata/identity/oauth2/token"), "asked IMDS"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"subscription": "not-a-guid"}, "subscription ID"),
        ({"regions": ["East US"]}, "not an Azure region name"),
        ({"regions": ["eastus' or 1 eq 1"]}, "not an Azure region name"),
        ({"regions": "eastus"}, "list of Azure region names"),
    ],
)
def test_malformed_options_are_refused(
    settings: Settings, now: datetime, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        get_source("azure").collect(_ctx(settings, now, **options))


def test_no_subscription_anywhere_is_one_line(settings: Settings, now: datetime) -> None:
    ctx = CollectContext(settings=settings, now=now, options={"regions": [EAST]})
    with pytest.raises(ConfigError, match="no Azure subscription: pass --subscription"):
        get_source("azure").collect(ctx)


def test_subscription_from_settings_then_environment(
    engine: Engine,
    settings: Settings,
    now: datetime,
    fake: FakeArm,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configured = "11111111-2222-3333-4444-555555555555"
    from_env = "99999999-8888-7777-6666-555555555555"
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", from_env)
    asked: list[str] = []
    source = azure_source(fake, _retail(), asked=asked)
    with_setting = settings.model_copy(
        update={"azure_subscription": configured, "azure_regions": [EAST]}
    )
    run = run_source(engine, source, CollectContext(with_setting, now))
    assert run.status == "ok", run.error_message
    run_source(
        engine, source, CollectContext(settings.model_copy(update={"azure_regions": [EAST]}), now)
    )
    assert asked == [configured, from_env]
    assert _count(engine, Offering, Offering.region == WEST) == 0  # only the configured region
