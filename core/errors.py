"""The project's exception tree for infrastructure and collection problems.

User mistakes (bad configuration, unknown source, unreachable database) are ``SpotselError``
subclasses whose message is one line fit to print; the CLI and the API translate them.
"""

from __future__ import annotations

from selector.errors import SpotselError

__all__ = [
    "ConfigError",
    "CredentialsError",
    "DatabaseError",
    "DatabaseUnavailableError",
    "PriceModelError",
    "SchemaNotReadyError",
    "SourceDataError",
    "SpotselError",
    "UnknownSourceError",
]


class ConfigError(SpotselError):
    code = "invalid_configuration"


class DatabaseError(SpotselError):
    code = "database_error"


class DatabaseUnavailableError(DatabaseError):
    code = "database_unavailable"


class SchemaNotReadyError(DatabaseError):
    code = "schema_not_ready"


class UnknownSourceError(SpotselError):
    code = "unknown_source"


class CredentialsError(SpotselError):
    """A cloud refused or could not find credentials (missing, expired, not allowed)."""

    code = "cloud_credentials"


class SourceDataError(SpotselError):
    """A source delivered something that is not what it documents (malformed feed, bad URL)."""

    code = "invalid_source_data"


class PriceModelError(SourceDataError):
    """Unit prices do not add up to a machine price (missing rate, too few or collinear sizes)."""

    code = "invalid_price_model"
