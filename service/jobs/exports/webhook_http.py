"""One POST to an export webhook, on an address checked after resolution (SSRF guard).

The URL was checked when its schedule was saved, but a name can resolve anywhere by the time a
run happens (DNS rebinding: a public answer for the check, 127.0.0.1 for the connection). So
each delivery checks the URL again (a schedule saved before the rule, a changed allow-list),
resolves the host once, refuses if any address it resolved to is internal, and connects to
those checked addresses itself: the HTTP client never looks the name up again. The Host
header, TLS SNI and the certificate check still use the host name. Redirects are not followed
(a 3xx fails the attempt), so nothing sends the POST on to an unchecked host. Proxies from the
environment are not used either: the check must see the address the socket connects to.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

from service.domain.webhook_targets import (
    ALLOW_HINT,
    AllowList,
    IPAddress,
    TargetRefused,
    WebhookTarget,
    resolved_refusal,
    webhook_target,
)

# Module attribute so that tests can stand in for DNS.
getaddrinfo = socket.getaddrinfo


class Refused(Exception):
    """The webhook may not be called; nothing was connected to. One line."""


class Unresolved(Exception):
    """The host name does not resolve (now); one line."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    family: int
    sockaddr: tuple[Any, ...]
    address: IPAddress


@dataclass(frozen=True, slots=True)
class Pinned:
    """A target and the checked addresses to connect to, resolved once per delivery."""

    target: WebhookTarget
    endpoints: tuple[Endpoint, ...]


def pin(url: str, allow: AllowList) -> Pinned:
    """Check the URL, resolve its host once and check every address; Refused or Unresolved."""
    try:
        target = webhook_target(url, allow)
    except TargetRefused as refused:
        raise Refused(f"the webhook URL {refused}") from None
    if target.address is not None:
        family = socket.AF_INET if target.address.version == 4 else socket.AF_INET6
        sockaddr = (str(target.address), target.port)
        return Pinned(target, (Endpoint(family, sockaddr, target.address),))
    endpoints = resolve(target)
    for endpoint in endpoints:
        reason = resolved_refusal(target, endpoint.address, allow)
        if reason:  # one bad address refuses them all: the resolver's order is not ours
            raise Refused(f"the webhook host {reason}; {ALLOW_HINT}")
    return Pinned(target, endpoints)


def resolve(target: WebhookTarget) -> tuple[Endpoint, ...]:
    try:
        infos = getaddrinfo(
            target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError) as exc:
        raise Unresolved(f"the webhook host {target.host} does not resolve: {exc}") from None
    endpoints: list[Endpoint] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        # A link-local IPv6 answer may carry its zone ("fe80::1%eth0"); the address is the rest.
        address = ip_address(str(sockaddr[0]).split("%", 1)[0])
        endpoints.append(Endpoint(int(family), tuple(sockaddr), address))
    if not endpoints:
        raise Unresolved(f"the webhook host {target.host} has no IPv4 or IPv6 address")
    return tuple(endpoints)


def post(pinned: Pinned, body: bytes, headers: Mapping[str, str], *, timeout: float) -> int:
    """POST `body` and return the status; OSError, http.client.HTTPException or ValueError
    (a URL the request line cannot carry) when there is no answer."""
    target = pinned.target
    connection: _PinnedHTTP | _PinnedHTTPS
    if target.scheme == "https":
        connection = _PinnedHTTPS(target.host, target.port, timeout=timeout, context=tls_context())
    else:
        connection = _PinnedHTTP(target.host, target.port, timeout=timeout)
    connection.endpoints = pinned.endpoints
    try:
        connection.request("POST", target.path, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.read(1024)
        return response.status
    finally:
        connection.close()


def connect(endpoints: Sequence[Endpoint], timeout: float | None) -> socket.socket:
    """A TCP connection to the first checked endpoint that answers."""
    last: OSError = OSError("no address to connect to")
    for endpoint in endpoints:
        sock = socket.socket(endpoint.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(endpoint.sockaddr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise last


class _PinnedHTTP(http.client.HTTPConnection):
    endpoints: Sequence[Endpoint] = ()

    def connect(self) -> None:
        self.sock = connect(self.endpoints, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection, _PinnedHTTP):
    """HTTPSConnection.connect wraps the socket _PinnedHTTP.connect opened: SNI and the
    certificate check are on the host name, though the socket went to an address."""


def tls_context() -> ssl.SSLContext:
    """The system's trust store with host name checks (a module function: tests add a CA)."""
    return ssl.create_default_context()
