"""Building AWS and HTTP clients, and mapping SDK errors onto the project's error tree.

Nothing here runs at import: sources call :func:`aws_client_factory` / :func:`http_client`
with the run's context, which tests fill with moto- or Stubber-backed factories and an
``httpx.MockTransport``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from collectors.base import CollectContext
from core.errors import CredentialsError

__all__ = [
    "AUTH_ERROR_CODES",
    "HTTP_TIMEOUT_S",
    "RETRY_MAX_ATTEMPTS",
    "AwsClientFactory",
    "aws_client_factory",
    "boto_client_config",
    "error_code",
    "http_client",
    "one_line",
    "raise_if_credentials",
]

log = logging.getLogger(__name__)

AwsClientFactory = Callable[[str, str], Any]

# botocore's adaptive mode: standard retries (throttling, 5xx, transient network errors, with
# exponential backoff and jitter) plus a client-side rate limiter that slows down after
# throttling. 10 attempts ride out a throttling burst without hammering the API.
RETRY_MAX_ATTEMPTS = 10
# Public feeds are small (the Spot Advisor JSON is ~1 MB); 30 s covers a slow link.
HTTP_TIMEOUT_S = 30.0

# Error codes meaning "who you are" or "what you may do" is the problem, not the data. Sources:
# EC2 API error codes (AuthFailure, UnauthorizedOperation, ...), STS (ExpiredToken,
# InvalidClientTokenId) and the JSON services such as Pricing (*Exception variants).
AUTH_ERROR_CODES = frozenset(
    {
        "AuthFailure",
        "UnauthorizedOperation",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "AccessDeniedException",
        "RequestExpired",
    }
)


def boto_client_config() -> Config:
    """The botocore config every production AWS client gets (adaptive retries)."""
    return Config(retries={"mode": "adaptive", "max_attempts": RETRY_MAX_ATTEMPTS})


def _production_factory() -> AwsClientFactory:
    import boto3.session  # deferred: importing the SDK is not needed for tests or other sources

    session = boto3.session.Session()  # the standard credential chain, built per run
    config = boto_client_config()

    def build(service: str, region: str) -> Any:
        return session.client(service, region_name=region, config=config)

    return build


def aws_client_factory(ctx: CollectContext) -> AwsClientFactory:
    """The injected factory, or one building real clients from the default credential chain."""
    return ctx.aws_client_factory or _production_factory()


def http_client(ctx: CollectContext) -> httpx.Client:
    """The injected HTTP client, or a plain one with a timeout and redirects followed."""
    if ctx.http_client_factory is not None:
        client = ctx.http_client_factory()
        if not isinstance(client, httpx.Client):
            raise TypeError("http_client_factory must return an httpx.Client")
        return client
    return httpx.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=True)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError, else the exception's class name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def one_line(exc: BaseException) -> str:
    """A single-line message for an SDK error (AWS messages sometimes hold newlines)."""
    if isinstance(exc, ClientError):
        message = str(exc.response.get("Error", {}).get("Message") or exc)
    else:
        message = str(exc) or type(exc).__name__
    return " ".join(message.split())


def raise_if_credentials(exc: BaseException, *, where: str) -> None:
    """Re-raise credential and permission problems as one clear :class:`CredentialsError`."""
    if isinstance(exc, NoCredentialsError):
        raise CredentialsError(
            f"AWS credentials not found ({where}): configure the standard chain "
            "(AWS_PROFILE, environment variables, SSO or an instance role)"
        ) from exc
    if isinstance(exc, BotoCoreError) and "Credentials" in type(exc).__name__:
        raise CredentialsError(f"AWS credentials problem ({where}): {one_line(exc)}") from exc
    if isinstance(exc, ClientError) and error_code(exc) in AUTH_ERROR_CODES:
        raise CredentialsError(
            f"AWS refused the credentials ({where}): {error_code(exc)}: {one_line(exc)}"
        ) from exc
