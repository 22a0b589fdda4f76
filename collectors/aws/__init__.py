"""AWS sources: ``aws`` (EC2 inventory, prices, placement scores) and ``aws-advisor``.

One module per concern — ``inventory`` (types, offerings, zone map), ``spot_prices``,
``pricing`` (on-demand), ``placement`` (scores and the quota planner), ``advisor`` (Spot
Advisor parse) — each with fetch separate from a pure parse; ``source`` and
``advisor_source`` orchestrate them. Clients come from factories on the run's context.
"""

from __future__ import annotations

from collectors.aws.advisor_source import AWS_ADVISOR_SOURCE, AwsAdvisorSource, check_source_url
from collectors.aws.source import AWS_SOURCE, AwsSource

__all__ = ["AWS_ADVISOR_SOURCE", "AWS_SOURCE", "AwsAdvisorSource", "AwsSource", "check_source_url"]
