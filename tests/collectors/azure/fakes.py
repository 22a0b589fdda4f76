"""A local stand-in for Azure Resource Manager, and builders pointing the real SDK clients at it.

:class:`FakeArm` is a threaded ``http.server`` on 127.0.0.1 (random port) with a route registry:
``fake.route(method, path_regex, handler)`` where ``handler(request)`` returns ``(status, json,
headers)``; later registrations win over earlier ones (and over the defaults), so a test can
replace any default. Every request is recorded in ``fake.requests`` (:class:`Seen`: method, path,
query, JSON body, ``Authorization`` header). ``fake.fail(method, path_regex, status, times=n)``
queues failures answered before any route (429 carries ``Retry-After: 0`` so the SDK's retry
policy retries at once, as ARM's throttling answers ask it to).

By default the fake serves the real REST spec examples in ``../shared/data/azure-api-examples``
(see its SOURCE.md), adapted as each default route says: Resource SKUs list, Resource Graph
``resources`` (two pages linked by ``$skipToken``) and Spot Placement Scores (generate + metadata).

The ``*_client`` builders make the real SDK clients talk to the fake: ``base_url=fake.url``, a
:class:`FakeCredential`, a bearer policy that allows plain http on loopback (the SDK's own
``ARMChallengeAuthenticationPolicy``, so the ``Authorization`` header is real and recorded) and
``retry_total=0`` unless a test asks for retries.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline import PipelineRequest
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

EXAMPLES = Path(__file__).resolve().parents[4] / "shared" / "data" / "azure-api-examples"
SKUS_EXAMPLE = "ResourceSkus_List_ListAvailableResourceSkus_2021-07-01.json"
GRAPH_FIRST_PAGE_EXAMPLE = "ResourceGraph_Resources_FirstPageQuery_2024-04-01.json"
GRAPH_BASIC_EXAMPLE = "ResourceGraph_Resources_BasicQuery_2024-04-01.json"
PLACEMENT_POST_EXAMPLE = "SpotPlacementScores_Post_GenerateSpotPlacementScores_2025-06-05.json"
PLACEMENT_GET_EXAMPLE = "SpotPlacementScores_Get_GetSpotPlacementScores_2025-06-05.json"

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
# Path regexes of the routes the fake serves by default ({sub} and {location} as groups).
SKUS = r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Compute/skus"
GRAPH = r"/providers/Microsoft\.ResourceGraph/resources"
PLACEMENT = (
    r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Compute/locations/(?P<location>[^/]+)"
    r"/placementScores/spot/generate"
)
PLACEMENT_META = (
    r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Compute/locations/(?P<location>[^/]+)"
    r"/placementScores/spot"
)
# A token far in the future: the bearer policy never asks for a new one mid-test.
FAR_FUTURE = 4_102_444_800  # 2100-01-01T00:00:00Z
# ARM's error codes per status (the body shape ARM's SDKs parse: {"error": {code, message}}).
ARM_ERROR_CODES = {
    400: "InvalidRequestContent",
    401: "InvalidAuthenticationToken",
    403: "AuthorizationFailed",
    404: "NotFound",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}

Answer = tuple[int, Any, Mapping[str, str]]


@dataclass(frozen=True)
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None
    match: dict[str, str] = field(default_factory=dict)  # the route's named groups


Handler = Callable[[Seen], Answer]


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    headers: Mapping[str, str]


def example(name: str) -> dict[str, Any]:
    """One real example file (``parameters`` + ``responses``)."""
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def example_body(name: str, status: str = "200") -> Any:
    return example(name)["responses"][status]["body"]


def arm_error(status: int, message: str | None = None) -> dict[str, Any]:
    code = ARM_ERROR_CODES.get(status, f"Http{status}")
    return {"error": {"code": code, "message": message or f"fake {status} {code}"}}


@dataclass
class FakeArm:
    """Routes, recorded requests and queued failures; see the module docstring."""

    routes: list[_Route] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        serve_examples(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Answer ``method`` requests whose whole path matches the regex ``path``."""
        self.routes.append(_Route(method.upper(), re.compile(path), handler))

    def route_json(self, method: str, path: str, body: Any, status: int = 200) -> None:
        """A fixed answer."""
        self.route(method, path, lambda _seen: (status, body, {}))

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next ``times`` matching requests answer ``status`` with an ARM error body."""
        if headers is None:
            headers = {"Retry-After": "0"} if status == 429 else {}
        self.failures.append(_Failure(method.upper(), re.compile(path), status, times, headers))

    def seen(self, method: str, path: str) -> list[Seen]:
        """The recorded requests to one route."""
        pattern = re.compile(path)
        return [s for s in self.requests if s.method == method and pattern.fullmatch(s.path)]

    def answer(self, method: str, raw_path: str, body: Any, authorization: str | None) -> Answer:
        url = urlsplit(raw_path)
        query = parse_qs(url.query)
        with self._lock:
            for failure in self.failures:
                hit = failure.method == method and failure.pattern.fullmatch(url.path)
                if failure.remaining and hit:
                    failure.remaining -= 1
                    self.requests.append(Seen(method, url.path, query, body, authorization))
                    return failure.status, arm_error(failure.status), failure.headers
            for route in reversed(self.routes):
                if route.method == method and (m := route.pattern.fullmatch(url.path)):
                    seen = Seen(method, url.path, query, body, authorization, m.groupdict())
                    self.requests.append(seen)
                    break
            else:
                self.requests.append(Seen(method, url.path, query, body, authorization))
                return 404, arm_error(404, f"no fake route for {method} {url.path}"), {}
        return route.handler(seen)


def _handler(fake: FakeArm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def do_PUT(self) -> None:
            self._answer("PUT")

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            sent = json.loads(raw) if raw else None
            status, body, headers = fake.answer(
                method, self.path, sent, self.headers.get("Authorization")
            )
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def _serving(fake: FakeArm) -> Iterator[FakeArm]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.port = server.server_port
    # A short poll interval: shutdown() waits up to one interval.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def running(fake: FakeArm) -> Iterator[FakeArm]:
    """For a fixture: ``yield from running(FakeArm())``."""
    with _serving(fake) as served:
        yield served


# --- default routes: the real spec examples -------------------------------------------------


def _skus(seen: Seen) -> Answer:
    """The ResourceSkus_List example; a ``$filter=location eq 'x'`` keeps the SKUs offered in x
    (the example's SKUs are in westus only, so another region answers an empty list)."""
    body = example_body(SKUS_EXAMPLE)
    wanted = re.search(r"location eq '([^']+)'", (seen.query.get("$filter") or [""])[0])
    if wanted:
        region = wanted.group(1).lower()
        body["value"] = [s for s in body["value"] if region in [x.lower() for x in s["locations"]]]
    return 200, body, {}


def _graph(seen: Seen) -> Answer:
    """The Resource Graph examples as two pages: the first-page example (which carries a
    ``$skipToken``) for a request without a token, the basic-query example (no token: last
    page) for a request that sends the first page's token back."""
    first = example_body(GRAPH_FIRST_PAGE_EXAMPLE)
    token = ((seen.body or {}).get("options") or {}).get("$skipToken")
    if token is None:
        return 200, first, {}
    if token == first["$skipToken"]:
        return 200, example_body(GRAPH_BASIC_EXAMPLE), {}
    return 400, arm_error(400, f"unknown $skipToken {token!r}"), {}


def _placement(seen: Seen) -> Answer:
    """The GenerateSpotPlacementScores example: the request echoed back, with the example's
    scores for the (size, region) pairs asked about (the example scores Standard_D2_v2 in
    eastus and eastus2; other pairs get no score, as an answer without data would)."""
    asked = seen.body or {}
    sizes = {s.get("sku") for s in asked.get("desiredSizes") or ()}
    regions = set(asked.get("desiredLocations") or ())
    scores = example_body(PLACEMENT_POST_EXAMPLE)["placementScores"]
    body = {
        **{k: asked[k] for k in asked},
        "placementScores": [s for s in scores if s["sku"] in sizes and s["region"] in regions],
    }
    headers = example(PLACEMENT_POST_EXAMPLE)["responses"]["200"]["headers"]
    return 200, body, {"x-ms-request-id": headers["x-ms-request-id"]}


def serve_examples(fake: FakeArm) -> None:
    """Register the default routes (called by :class:`FakeArm` itself)."""
    fake.route("GET", SKUS, _skus)
    fake.route("POST", GRAPH, _graph)
    fake.route("POST", PLACEMENT, _placement)
    fake.route_json("GET", PLACEMENT_META, example_body(PLACEMENT_GET_EXAMPLE))


# --- builders for tests --------------------------------------------------------------------


def graph_pages(fake: FakeArm, pages: Sequence[Sequence[Mapping[str, Any]]]) -> None:
    """Serve Resource Graph ``resources`` as ``pages`` of object-array rows, linked by
    ``$skipToken`` ("page-1", "page-2", …; the last page has none), in the examples' shape."""
    total = sum(len(p) for p in pages)

    def answer(seen: Seen) -> Answer:
        token = ((seen.body or {}).get("options") or {}).get("$skipToken")
        index = 0 if token is None else int(str(token).removeprefix("page-"))
        if not 0 <= index < len(pages):
            return 400, arm_error(400, f"unknown $skipToken {token!r}"), {}
        body: dict[str, Any] = {
            "totalRecords": total,
            "count": len(pages[index]),
            "resultTruncated": "false",
            "facets": [],
            "data": [dict(row) for row in pages[index]],
        }
        if index + 1 < len(pages):
            body["$skipToken"] = f"page-{index + 1}"
        return 200, body, {}

    fake.route("POST", GRAPH, answer)


def eviction_row(sku: str, location: str, rate: str) -> dict[str, Any]:
    """One row of the eviction-rate query's projection."""
    return {"skuName": sku, "location": location, "evictionRate": rate}


def placement_scores(
    fake: FakeArm, scores: Mapping[tuple[str, str], Mapping[str | None, str]]
) -> None:
    """Serve Spot Placement Scores from ``scores[(size, region)] = {zone or None: level}``
    (``isQuotaAvailable`` true unless the level is RestrictedSkuNotAvailable); pairs not in
    the table get no score."""

    def answer(seen: Seen) -> Answer:
        asked = seen.body or {}
        rows = []
        for size in asked.get("desiredSizes") or ():
            for region in asked.get("desiredLocations") or ():
                for zone, level in (scores.get((size["sku"], region)) or {}).items():
                    row: dict[str, Any] = {"sku": size["sku"], "region": region}
                    if zone is not None:
                        row["availabilityZone"] = zone
                    row["score"] = level
                    row["isQuotaAvailable"] = level != "RestrictedSkuNotAvailable"
                    rows.append(row)
        return 200, {**asked, "placementScores": rows}, {}

    fake.route("POST", PLACEMENT, answer)


class FakeCredential:
    """An azure-core ``TokenCredential`` (and ``SupportsTokenInfo``) that never leaves the
    process: one fixed token valid until 2100."""

    token = "fake-token"

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, FAR_FUTURE)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.scopes.append(scopes)
        return AccessTokenInfo(self.token, FAR_FUTURE)

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeCredential:
        return self

    def __exit__(self, *args: Any) -> None:
        pass


class NoCredential:
    """A credential chain that finds nothing (as ``DefaultAzureCredential`` on a bare
    machine): every token request raises ``ClientAuthenticationError``."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")


class LoopbackBearerPolicy(ARMChallengeAuthenticationPolicy):
    """The SDK's ARM bearer policy, allowed to send its token over plain http (the fake's
    loopback URL); the SDK refuses non-TLS URLs otherwise."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.context.options["enforce_https"] = False
        super().on_request(request)


ARM_SCOPE = "https://management.azure.com/.default"


def client_kwargs(fake: FakeArm, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments that point an ARM SDK client at ``fake``: ``retry_total=0`` unless
    overridden (e.g. ``retry_total=2, retry_backoff_factor=0.001`` for a retry test)."""
    credential = overrides.pop("credential", None) or FakeCredential()
    kwargs: dict[str, Any] = {
        "base_url": fake.url,
        "credential": credential,
        "authentication_policy": LoopbackBearerPolicy(credential, ARM_SCOPE),
        "retry_total": 0,
    }
    kwargs.update(overrides)
    return kwargs


def resource_graph_client(fake: FakeArm, **overrides: Any) -> Any:
    from azure.mgmt.resourcegraph import ResourceGraphClient

    return ResourceGraphClient(**client_kwargs(fake, **overrides))


def compute_client(fake: FakeArm, subscription: str = SUBSCRIPTION, **overrides: Any) -> Any:
    from azure.mgmt.compute import ComputeManagementClient

    return ComputeManagementClient(subscription_id=subscription, **client_kwargs(fake, **overrides))


def recommender_client(fake: FakeArm, subscription: str = SUBSCRIPTION, **overrides: Any) -> Any:
    from azure.mgmt.computerecommender import RecommenderMgmtClient

    return RecommenderMgmtClient(subscription_id=subscription, **client_kwargs(fake, **overrides))
