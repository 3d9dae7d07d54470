"""The web stage of a scan (``--probe web``): probe landing pages, then collect their third parties.

For every ``web`` endpoint that resolved, one bounded HTTPS GET (:func:`probe_web`) records what
the answer reveals (CDN, certificate authority, identity providers, third-party hosts) in
``details["web"]``. Each third-party host and sign-in host the page makes a browser contact
becomes a ``third-party`` endpoint of the same organization, collected through DNS like any
other endpoint, so attribution and rules treat it the same way.

Every connection goes to an address found through the user's resolvers (``options.resolvers``):
the probe never falls back to the system resolver. A probe that fails never fails the scan: its
error is kept in the evidence. The stage as a whole has a time budget.

Test hooks (documented in docs/web.md): ``options.extra["web_ca"]`` (or ``SOVAUDIT_WEB_CA``) is a
PEM file of extra CA certificates to trust, and ``options.extra["web_port"]`` (or
``SOVAUDIT_WEB_PORT``) the HTTPS port to probe instead of 443.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from sovaudit.collect.dns import DnsClient
from sovaudit.collect.endpoints import collect_target, internal_endpoint, unknown_endpoint
from sovaudit.collect.netpolicy import address_refusal, allow_loopback_from_env, check_address
from sovaudit.collect.web import WebObservation, observation_to_details, probe_web
from sovaudit.errors import INTERNAL_KIND, UserError, internal_reason
from sovaudit.models import Endpoint, Layer, Status, Target, with_internal_error
from sovaudit.pipeline.options import ScanOptions

_T = TypeVar("_T")

# Probes in flight at once: enough to hide latency, few enough to look like one visitor per site.
WEB_CONCURRENCY = 16
# One probe's budget (every hop, the body); the stage's budget on top of it.
PROBE_TIMEOUT = 5.0
STAGE_TIMEOUT = 120.0
# A page that references more hosts than this is unusual; the rest is counted, not collected.
MAX_THIRD_PARTIES_PER_PAGE = 50
THIRD_PARTY_ARROW = "\u2192 third party"
BUDGET_EXHAUSTED = "web stage time budget exhausted"

__all__ = [
    "MAX_THIRD_PARTIES_PER_PAGE",
    "run_web_probes",
    "third_party_hosts",
    "web_port",
    "web_ssl_context",
]


def web_ssl_context(options: ScanOptions) -> ssl.SSLContext | bool:
    """The certificate verification the probe uses: public roots, plus a test CA if one is set."""
    ca = options.extra.get("web_ca") or os.environ.get("SOVAUDIT_WEB_CA")
    if not ca:
        return True
    import certifi

    ctx = ssl.create_default_context(cafile=certifi.where())
    try:
        ctx.load_verify_locations(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise UserError(f"web_ca {ca}: cannot load CA certificates: {exc}") from exc
    return ctx


def web_port(options: ScanOptions) -> int:
    """The HTTPS port probed (443 unless a test sets another)."""
    raw = options.extra.get("web_port") or os.environ.get("SOVAUDIT_WEB_PORT") or 443
    try:
        port = int(raw)
    except (TypeError, ValueError):
        raise UserError(f"web_port: not a port number: {raw!r}") from None
    if not 0 < port < 65536:
        raise UserError(f"web_port: out of range: {port}")
    return port


def web_allow_private(options: ScanOptions) -> bool:
    """Whether probes may connect to loopback addresses (the test hook; never RFC 1918,
    link-local or 0.0.0.0: see :mod:`sovaudit.collect.netpolicy`)."""
    flag = options.extra.get("web_allow_private")
    return str(flag).lower() in ("1", "true", "yes") or allow_loopback_from_env()


def _explain_refusal(obs: WebObservation, refused: dict[str, str]) -> WebObservation:
    """Say why a probe stopped when its host resolved only to non-public addresses."""
    if obs.error_kind != "not-pinned" or not refused:
        return obs
    host = (urllib.parse.urlsplit(obs.final_url or obs.url).hostname or "").lower()
    address = refused.get(host)
    if address is None:
        return obs
    return replace(
        obs,
        error_kind="private-address",
        error=f"not probed: {host} resolves to a non-public address ({address})",
    )


def third_party_hosts(obs: WebObservation) -> list[tuple[str, dict[str, Any]]]:
    """Distinct hosts (third parties, then sign-in hosts) with what the page does with them.

    Capped at :data:`MAX_THIRD_PARTIES_PER_PAGE`, in document order. Pure.
    """
    found: dict[str, dict[str, Any]] = {}
    idps = set(obs.identity_providers)
    for tp in obs.third_parties:
        found.setdefault(
            tp.host,
            {"kinds": list(tp.kinds), "first_url": tp.first_url,
             "identity_provider": tp.host in idps},
        )
    for host in obs.identity_providers:
        found.setdefault(
            host, {"kinds": ["sign-in"], "first_url": None, "identity_provider": True}
        )
    return list(found.items())[:MAX_THIRD_PARTIES_PER_PAGE]


def _failed(host: str, port: int, kind: str, message: str) -> WebObservation:
    url = f"https://{host}/" if port == 443 else f"https://{host}:{port}/"
    return WebObservation(
        url=url, final_url=None, status=None, redirects=(), headers=(), cdn_signals=(), tls=None,
        identity_providers=(), third_parties=(), error=message, error_kind=kind,
    )


def run_web_probes(endpoints: Sequence[Endpoint], options: ScanOptions) -> list[Endpoint]:
    """Probe every resolved web endpoint and add one ``third-party`` endpoint per host it uses.

    Returns ``endpoints`` (web ones with ``details["web"]``) followed by the new endpoints.
    Endpoints that already hold a web observation (a resumed scan) are not probed again.
    """
    verify = web_ssl_context(options)
    port = web_port(options)
    return asyncio.run(_run(list(endpoints), options, verify, port))


async def _run(
    endpoints: list[Endpoint], options: ScanOptions, verify: ssl.SSLContext | bool, port: int
) -> list[Endpoint]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + float(options.extra.get("web_stage_timeout") or STAGE_TIMEOUT)
    todo = [
        i
        for i, e in enumerate(endpoints)
        if e.layer is Layer.WEB and e.status is Status.OK and "web" not in e.details
    ]
    async with DnsClient(
        options.resolvers,
        timeout=options.timeout,
        retries=options.retries,
        concurrency=options.concurrency,
    ) as client:

        allow_private = web_allow_private(options)
        refused: dict[str, str] = {}

        async def lookup(name: str) -> str | None:
            # The user's resolvers, never the system's; IPv4 first (sorted by the DNS client).
            chain = await client.resolve_chain(name)
            for address in chain.addresses:
                # A public name pointing at a private or loopback address must not turn the
                # auditor's machine into a client of internal services (whose answers would
                # then be published in a report): one policy, sovaudit.collect.netpolicy.
                if address_refusal(address, allow_loopback=allow_private) is None:
                    return address
            if chain.addresses:
                refused[name.lower().rstrip(".")] = chain.addresses[0]
                check_address(chain.addresses[0], host=name, allow_loopback=allow_private)
            return None

        semaphore = asyncio.Semaphore(WEB_CONCURRENCY)

        async def probe(endpoint: Endpoint) -> WebObservation:
            async with semaphore:
                return await probe_web(
                    endpoint.host, port=port, timeout=PROBE_TIMEOUT, verify=verify, resolve=lookup,
                    allow_loopback=allow_private,
                )

        def probe_failed(n: int, exc: BaseException | None) -> WebObservation:
            host = endpoints[todo[n]].host
            if exc is None:
                return _failed(host, port, "timeout", BUDGET_EXHAUSTED)
            if isinstance(exc, OSError):  # a socket condition that escaped the probe's handling
                return _failed(host, port, "connect", f"{type(exc).__name__}: {exc}")
            # probe_web reports every network condition itself: what escapes it is a bug.
            return _failed(host, port, INTERNAL_KIND, internal_reason(exc))

        observations = await _bounded(
            [probe(endpoints[i]) for i in todo], deadline - loop.time(), probe_failed
        )
        observations = [_explain_refusal(obs, refused) for obs in observations]
        out = list(endpoints)
        targets: list[tuple[Target, dict[str, Any]]] = []
        for i, obs in zip(todo, observations, strict=True):
            page = endpoints[i]
            out[i] = replace(page, details={**page.details, "web": observation_to_details(obs)})
            if obs.error_kind == INTERNAL_KIND and obs.error:
                out[i] = with_internal_error(out[i], obs.error, unknown=False)
            for host, info in third_party_hosts(obs):
                target = Target(
                    organization=page.organization,
                    organization_name=page.organization_name,
                    service=f"{page.host} {THIRD_PARTY_ARROW}",
                    host=host,
                    layer=Layer.THIRD_PARTY,
                    data_classes=page.data_classes,
                    source=page.source,
                    origin="domain",  # a name that does not exist is skipped, not an error
                )
                targets.append((target, {"page": page.host, **info}))

        def unresolved(n: int, exc: BaseException | None) -> Endpoint:
            # collect_target reports every DNS condition itself: what escapes it is a bug.
            target = targets[n][0]
            if exc is None:
                return unknown_endpoint(target, BUDGET_EXHAUSTED)
            return internal_endpoint(target, exc)

        collected = await _bounded(
            [collect_target(client, t) for t, _ in targets], deadline - loop.time(), unresolved
        )
    for endpoint, (_, info) in zip(collected, targets, strict=True):
        out.append(replace(endpoint, details={**endpoint.details, "third_party": info}))
    return out


async def _bounded(
    coros: Sequence[Any], budget: float, fallback: Callable[[int, BaseException | None], _T]
) -> list[_T]:
    """Run ``coros`` concurrently for at most ``budget`` seconds.

    A late or failed one is replaced by ``fallback(index, exception)`` (``None`` when the budget
    ran out): one bad site never stops the scan, and the fallback tells a bug from the network.
    """
    if not coros:
        return []
    tasks = [asyncio.ensure_future(c) for c in coros]
    _done, pending = await asyncio.wait(tasks, timeout=max(budget, 0.0))
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    results: list[_T] = []
    for index, task in enumerate(tasks):
        if task.cancelled():
            results.append(fallback(index, None))
        elif (exc := task.exception()) is not None:
            results.append(fallback(index, exc))
        else:
            results.append(task.result())
    return results
