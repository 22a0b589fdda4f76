"""AWS sources: ``aws`` (EC2 inventory, prices, placement scores), and the public feeds
``aws-advisor`` (Spot Advisor) and ``aws-public`` (regional spot prices), no credentials.

One module per concern — ``inventory`` (types, offerings, zone map), ``spot_prices``,
``pricing`` (on-demand), ``placement`` (scores and the quota planner), ``advisor`` (Spot
Advisor parse), ``public`` (spot price feed parse), ``public_specs`` and ``accelerators``
(specs from public data), ``public_derive`` (derived on-demand prices) — each with fetch
separate from a pure parse; ``source``, ``advisor_source`` and ``public_source`` orchestrate
them. Clients come from factories on the run's context.
"""

from __future__ import annotations

from collectors.aws.advisor_source import AWS_ADVISOR_SOURCE, AwsAdvisorSource, check_source_url
from collectors.aws.public_source import AWS_PUBLIC_SOURCE, DOCUMENT, AwsPublicSource
from collectors.aws.source import AWS_SOURCE, AwsSource

__all__ = [
    "AWS_ADVISOR_SOURCE",
    "AWS_PUBLIC_SOURCE",
    "AWS_SOURCE",
    "FEED_DOCUMENTS",
    "AwsAdvisorSource",
    "AwsPublicSource",
    "AwsSource",
    "check_source_url",
]

# What each feed source calls its document in errors (``check_source_url(what=...)``).
FEED_DOCUMENTS = {AWS_ADVISOR_SOURCE.name: "advisor", AWS_PUBLIC_SOURCE.name: DOCUMENT}
