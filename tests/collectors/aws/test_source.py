"""The ``aws`` source end to end on real boto3 clients (moto + hooks), both engines."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from collectors import get_source
from collectors.base import CollectContext
from collectors.runner import run_source
from core.errors import CredentialsError
from core.settings import Settings
from core.tables import (
    CollectionRunRegion,
    InstanceType,
    Offering,
    OnDemandPrice,
    PlacementScore,
    SpotPrice,
    Zone,
)
from tests.collectors.aws.fakes import FakeAws, error

REGIONS = ["us-east-1", "eu-west-1"]


class RecordingProgress:
    def __init__(self) -> None:
        self.stages: list[tuple[str, int | None]] = []
        self.steps = 0

    def stage(self, description: str, total: int | None) -> None:
        self.stages.append((description, total))

    def advance(self, steps: int = 1) -> None:
        self.steps += steps


def _ctx(settings: Settings, now: datetime, fake: Any, **options: Any) -> CollectContext:
    return CollectContext(
        settings=settings, now=now, options={"regions": REGIONS} | options, aws_client_factory=fake
    )


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def test_collect_lands_every_table_with_zone_ids(
    engine: Engine, settings: Settings, now: datetime, fake_aws: FakeAws
) -> None:
    progress = RecordingProgress()
    ctx = _ctx(settings, now, fake_aws).with_progress(progress)
    run = run_source(engine, get_source("aws"), ctx)
    assert run.status == "ok", run.error_message
    assert [s[0] for s in progress.stages[:2]] == ["aws us-east-1", "aws eu-west-1"]
    with Session(engine) as session:
        g5 = session.get(InstanceType, ("aws", "g5.xlarge"))
        assert g5 is not None
        assert (g5.gpu_count, g5.gpu_model, g5.accelerator_kind) == (1, "A10G", "gpu")
        zones = dict(session.execute(select(Zone.zone_name, Zone.zone_id)).all())
        assert zones["us-east-1a"] == "use1-az6", "moto's account maps us-east-1a to use1-az6"
        spot_zones = set(session.scalars(select(SpotPrice.zone_id).distinct()))
        assert spot_zones <= set(zones.values()), "spot prices are keyed by zone ID, not name"
        assert {"use1-az6", "euw1-az3"} <= spot_zones
        m5 = session.scalars(
            select(SpotPrice.price_usd_per_hour).where(SpotPrice.instance_type == "m5.large")
        ).all()
        assert m5, "recorded m5.large prices survive"
        assert min(m5) > 0.03
        assert max(m5) < 0.1
        od = session.get(OnDemandPrice, ("aws", "us-east-1", "g5.xlarge", "linux"))
        assert od is not None
        assert od.price_usd_per_hour == pytest.approx(1.006)
        scores = session.scalars(select(PlacementScore)).all()
        assert {s.instance_types for s in scores} == {
            ",".join(sorted(t)) for t in settings.aws_placement_type_sets
        }
        assert all(s.zone_id and 0.1 <= (s.score or 0) <= 1.0 for s in scores)
    assert _count(engine, Offering, Offering.region == "eu-west-1") > 1_000


def test_rerunning_the_same_window_writes_no_duplicates(
    engine: Engine, settings: Settings, now: datetime, fake_aws: FakeAws
) -> None:
    first = run_source(engine, get_source("aws"), _ctx(settings, now, fake_aws))
    spot = _count(engine, SpotPrice)
    again = run_source(engine, get_source("aws"), _ctx(settings, now, fake_aws))
    assert first.status == again.status == "ok"
    assert _count(engine, SpotPrice) == spot
    assert again.rows_new == 0
    # The second run starts at the stored watermark (newest change per region).
    starts = [p["StartTime"] for p in fake_aws.asked("DescribeSpotPriceHistory", "us-east-1")]
    assert starts[0] == now - timedelta(days=settings.aws_spot_lookback_days)
    with Session(engine) as session:
        newest = session.scalar(
            select(func.max(SpotPrice.ts)).where(SpotPrice.region == "us-east-1")
        )
    assert starts[1] == newest


def test_one_failing_region_does_not_stop_the_others(
    engine: Engine, settings: Settings, now: datetime, fake_aws: FakeAws
) -> None:
    fake_aws.overrides[("eu-west-1", "DescribeSpotPriceHistory")] = lambda r, p: error(
        "InternalError", "An internal error has occurred", 500
    )
    run = run_source(engine, get_source("aws"), _ctx(settings, now, fake_aws))
    assert run.status == "partial"
    assert _count(engine, SpotPrice, SpotPrice.region == "us-east-1") > 0
    assert _count(engine, Offering, Offering.region == "eu-west-1") == 0, (
        "failed region writes nothing"
    )
    with Session(engine) as session:
        regions = {r.region: r for r in session.scalars(select(CollectionRunRegion))}
    assert regions["us-east-1"].status == "ok"
    assert regions["eu-west-1"].status == "failed"
    assert regions["eu-west-1"].error_class == "InternalError"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param({"SpotPrice": "NaN"}, "SpotPrice is 'NaN'", id="NaN price"),
        pytest.param({"InstanceType": "t" * 129}, "129 characters", id="129-character type"),
    ],
)
def test_a_value_the_store_cannot_hold_fails_only_its_region(
    engine: Engine,
    settings: Settings,
    now: datetime,
    fake_aws: FakeAws,
    bad: dict[str, str],
    reason: str,
) -> None:
    def spot(region: str, params: dict[str, Any]) -> dict[str, Any]:
        records = fake_aws.spot_history(region)
        return {"SpotPriceHistory": [*records, records[0] | bad]}

    fake_aws.overrides[("eu-west-1", "DescribeSpotPriceHistory")] = spot
    run = run_source(engine, get_source("aws"), _ctx(settings, now, fake_aws))
    assert run.status == "partial"
    assert run.error_class == "SourceDataError"
    assert reason in (run.error_message or "")
    assert _count(engine, Offering, Offering.region == "eu-west-1") == 0
    assert _count(engine, SpotPrice, SpotPrice.region == "us-east-1") > 0


def test_an_empty_region_fails_and_keeps_last_known_good(
    engine: Engine, settings: Settings, now: datetime, fake_aws: FakeAws
) -> None:
    assert run_source(engine, get_source("aws"), _ctx(settings, now, fake_aws)).status == "ok"
    before = _count(engine, SpotPrice, SpotPrice.region == "eu-west-1")
    fake_aws.overrides[("eu-west-1", "DescribeSpotPriceHistory")] = lambda r, p: {
        "SpotPriceHistory": []
    }
    later = now + timedelta(hours=1)
    run = run_source(engine, get_source("aws"), _ctx(settings, later, fake_aws))
    assert run.status == "partial"
    assert run.error_class == "EmptyRegionError"
    assert _count(engine, SpotPrice, SpotPrice.region == "eu-west-1") == before
    with Session(engine) as session:
        seen = session.scalar(
            select(func.max(Offering.last_seen)).where(Offering.region == "eu-west-1")
        )
    assert seen == now, "the empty region's offerings were not re-stamped"


def test_throttling_is_retried_by_adaptive_retries(
    monkeypatch: pytest.MonkeyPatch, moto: None
) -> None:
    """Two throttled answers then success: the production retry config rides it out."""
    from botocore.awsrequest import AWSResponse

    from collectors.aws.clients import boto_client_config
    from collectors.aws.inventory import fetch_zones

    monkeypatch.setattr("time.sleep", lambda _s: None)  # keep the backoff, skip the waiting
    ec2 = boto3.client("ec2", region_name="us-east-1", config=boto_client_config())
    sent: list[int] = []
    body = (
        b"<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
        b"<Message>Request limit exceeded.</Message></Error></Errors>"
        b"<RequestID>r</RequestID></Response>"
    )

    class Raw:
        def stream(self, **_: Any) -> Any:
            yield body

    def throttle(request: Any, **_: Any) -> Any:
        sent.append(1)
        if len(sent) <= 2:
            return AWSResponse(request.url, 503, {}, Raw())
        return None  # moto answers the third attempt

    ec2.meta.events.register("before-send.ec2.DescribeAvailabilityZones", throttle)
    zones = fetch_zones(ec2)
    assert len(sent) == 3
    assert {z["ZoneId"] for z in zones} >= {"use1-az6", "use1-az1"}


def test_missing_credentials_is_one_clear_line(
    engine: Engine, settings: Settings, now: datetime
) -> None:
    def no_credentials(service: str, region: str) -> Any:
        class Client:
            def get_caller_identity(self) -> Any:
                raise NoCredentialsError()

        return Client()

    with pytest.raises(CredentialsError) as caught:
        run_source(engine, get_source("aws"), _ctx(settings, now, no_credentials))
    assert "\n" not in str(caught.value)
    assert "credentials not found" in str(caught.value)


def test_expired_token_is_one_clear_line(
    engine: Engine, settings: Settings, now: datetime, fake_aws: FakeAws
) -> None:
    def factory(service: str, region: str) -> Any:
        client = fake_aws(service, region)
        if service == "sts":
            from botocore.stub import Stubber

            stub = Stubber(client)
            stub.add_client_error(
                "get_caller_identity",
                service_error_code="ExpiredToken",
                service_message="The security token included in the request is expired\n",
                http_status_code=403,
            )
            stub.activate()
        return client

    with pytest.raises(CredentialsError) as caught:
        run_source(engine, get_source("aws"), _ctx(settings, now, factory))
    message = str(caught.value)
    assert "\n" not in message
    assert "ExpiredToken" in message


def test_placement_quota_exhaustion_degrades(
    engine: Engine,
    settings: Settings,
    now: datetime,
    fake_aws: FakeAws,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_aws.placement_quota = 2  # AWS grants two more new configurations, then refuses
    with caplog.at_level(logging.INFO, logger="collectors.aws.source"):
        run = run_source(engine, get_source("aws"), _ctx(settings, now, fake_aws))
    assert run.status == "ok", "quota exhaustion never fails the run"
    with Session(engine) as session:
        stored = set(
            session.execute(select(PlacementScore.region, PlacementScore.instance_types).distinct())
        )
    assert len(stored) == 2
    [record] = [r for r in caplog.records if r.getMessage() == "aws placement queries"]
    assert record.quota_exhausted is True  # type: ignore[attr-defined]
    assert len(record.spent) == 2  # type: ignore[attr-defined]
    assert len(record.refused) == 1, "after the refusal no new configuration is asked"  # type: ignore[attr-defined]
    asked = fake_aws.asked("GetSpotPlacementScores")
    assert len(asked) == 3


def test_placement_reuses_configurations_within_24h(
    engine: Engine,
    settings: Settings,
    now: datetime,
    fake_aws: FakeAws,
    caplog: pytest.LogCaptureFixture,
) -> None:
    limited = settings.model_copy(update={"aws_placement_daily_config_limit": 4})
    run_source(engine, get_source("aws"), _ctx(limited, now, fake_aws))
    first = len(fake_aws.asked("GetSpotPlacementScores"))
    assert first == 4, "6 configurations wanted, 4 allowed"
    with caplog.at_level(logging.INFO, logger="collectors.aws.source"):
        run_source(engine, get_source("aws"), _ctx(limited, now + timedelta(hours=2), fake_aws))
    [record] = [r for r in caplog.records if r.getMessage() == "aws placement queries"]
    assert (record.reused, record.spent, len(record.skipped)) == (4, [], 2)  # type: ignore[attr-defined]
    assert len(fake_aws.asked("GetSpotPlacementScores")) == first + 4
