"""Which export webhook URLs the service may call (SSRF). Pure: no sockets, no DNS.

A webhook URL is typed in by staff, and the server then POSTs to it from inside its network and
records what answered. Unchecked, that reaches the cloud metadata service (169.254.169.254),
databases on private addresses and every port of the server itself. The rule:

- only http and https; plain http only to receivers on EXPORT_WEBHOOK_ALLOW (report figures
  and a replayable signature must not cross a network in clear);
- no loopback, private, link-local, carrier-grade NAT, multicast, reserved, documentation or
  unspecified address, nor an IPv6 form that embeds one (::ffff:127.0.0.1, 6to4, NAT64);
- no `localhost`, cloud metadata names, single-label names (the resolver's search domains
  make them internal) and names under private-use suffixes (`.internal`, `.local`, …);
- unless the host name is on EXPORT_WEBHOOK_ALLOW, or its address is inside a network there.

Hosts are read the way the system resolver reads them, so no spelling slips past: IDNA (the
Unicode `ⓛocalhost` is `localhost`), case, one trailing dot, and inet_aton's IPv4 forms
(`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`). A host whose last label is a number is an
IPv4 address or invalid, never a name to look up.

The same checks run twice: when a schedule is saved (`webhook_target`), and when a delivery
connects (service/jobs/exports/webhook_http.py): the URL again, then `resolved_refusal` on
every address the name resolved to, and the connection goes to a checked address itself.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from urllib.parse import urlsplit

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

ALLOW_SETTING = "EXPORT_WEBHOOK_ALLOW"

# Networks no webhook may reach, with why, most specific first. ipaddress's own flags are
# checked after these as well (defence in depth), but this list is what docs and tests use.
# ::ffff:0:0/96 is not here: an IPv4-mapped address is judged as the IPv4 address it carries.
FORBIDDEN_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "is in 0.0.0.0/8 ('this network': 0.0.0.0 reaches this machine)"),
        ("10.0.0.0/8", "is private (RFC 1918)"),
        ("100.64.0.0/10", "is carrier-grade NAT space (100.64.0.0/10)"),
        ("127.0.0.0/8", "is loopback"),
        ("169.254.0.0/16", "is link-local, where cloud metadata services answer"),
        ("172.16.0.0/12", "is private (RFC 1918)"),
        ("192.0.0.0/24", "is reserved for IETF protocol assignments"),
        ("192.0.2.0/24", "is reserved for documentation"),
        ("192.88.99.0/24", "is the 6to4 relay anycast"),
        ("192.168.0.0/16", "is private (RFC 1918)"),
        ("198.18.0.0/15", "is reserved for benchmarking"),
        ("198.51.100.0/24", "is reserved for documentation"),
        ("203.0.113.0/24", "is reserved for documentation"),
        ("224.0.0.0/4", "is multicast"),
        ("240.0.0.0/4", "is reserved (or the broadcast address)"),
    )
)
FORBIDDEN_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), why)
    for net, why in (
        ("::/128", "is the unspecified address"),
        ("::1/128", "is loopback"),
        ("::/96", "is a deprecated IPv4-compatible address"),
        ("::ffff:0:0:0/96", "is an IPv4-translated address"),
        ("64:ff9b:1::/48", "is local-use NAT64 space"),
        ("100::/64", "is the discard prefix"),
        ("2001::/23", "is reserved for IETF protocol assignments (Teredo, ORCHID, …)"),
        ("2001:db8::/32", "is reserved for documentation"),
        ("3fff::/20", "is reserved for documentation"),
        ("5f00::/16", "is reserved for SRv6"),
        ("fc00::/7", "is a unique local (private) address"),
        ("fe80::/10", "is link-local"),
        ("fec0::/10", "is site-local"),
        ("ff00::/8", "is multicast"),
    )
)

# Names that reach the machine itself or a cloud's metadata service; single labels such as
# `metadata` and `instance-data` are refused as single labels anyway.
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)
# Private-use and special suffixes: such names only resolve inside a network.
PRIVATE_SUFFIXES = (
    "localhost",
    "local",
    "localdomain",
    "internal",
    "intranet",
    "lan",
    "home",
    "corp",
    "svc",
    "home.arpa",
    "arpa",
)

_HOST = re.compile(r"(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_-]{1,63})*")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_IPV4_TEXT = re.compile(r"[0-9a-fA-FxX.]{1,253}")
ALLOW_HINT = f"an operator can allow internal receivers with {ALLOW_SETTING}"
_NAT64 = IPv6Network("64:ff9b::/96")
_COMPATIBLE = IPv6Network("::/96")
_TRANSLATED = IPv6Network("::ffff:0:0:0/96")


class TargetRefused(ValueError):
    """The URL may not be called; the message says why in one line, for a person."""


@dataclass(frozen=True, slots=True)
class AllowList:
    """EXPORT_WEBHOOK_ALLOW: host names (exact, lower case) and networks that may be internal."""

    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        names: set[str] = set()
        networks: list[Network] = []
        for entry in entries:
            try:
                networks.append(ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def has_name(self, host: str) -> bool:
        return host in self.names

    def covers(self, address: IPAddress) -> bool:
        addresses = [address]
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            addresses.append(address.ipv4_mapped)  # the same host as seen by a dual stack
        return any(a in net for a in addresses for net in self.networks)


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    scheme: str  # "http" or "https"
    host: str  # what to resolve, to send as Host and to verify the certificate against
    port: int
    address: IPAddress | None  # the URL names an address (in any spelling), no name
    allowed: bool  # on EXPORT_WEBHOOK_ALLOW by name or by address: internal is fine
    path: str  # path and query, what the request line carries


def webhook_target(url: str, allow: AllowList) -> WebhookTarget:
    """The URL's target if the service may call it, else TargetRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("is not a valid URL (check the host and the port)") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must be an http or https URL")
    if not parts.hostname:
        raise TargetRefused("must name a host")
    if port == 0:
        raise TargetRefused("must not use port 0")
    if "[" in parts.netloc and ":" not in parts.hostname:  # [v1.x]: IPvFuture, no address
        raise TargetRefused("has a bracketed host that is not a valid IPv6 address")
    host = normalise_host(parts.hostname)
    address = host_address(host)
    if address is not None:
        host = str(address)
        allowed = allow.covers(address)
        reason = None if allowed else address_refusal(address)
    else:
        allowed = allow.has_name(host)
        reason = None if allowed else name_refusal(host)
    if reason:
        raise TargetRefused(f"must not point to an internal host: {reason}; {ALLOW_HINT}")
    if parts.scheme == "http" and not allowed:
        raise TargetRefused(
            f"must be an https URL (plain http only to receivers on {ALLOW_SETTING})"
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return WebhookTarget(parts.scheme, host, port or default, address, allowed, path)


def resolved_refusal(target: WebhookTarget, address: IPAddress, allow: AllowList) -> str | None:
    """Why the service must not connect to `address`, which `target.host` resolved to."""
    if allow.has_name(target.host) or allow.covers(address):
        return None
    why = _why(address)
    return f"{target.host} resolves to {address}, which {why}" if why else None


def normalise_host(host: str) -> str:
    """The host as the resolver reads it: IDNA-encoded, lower case, without a trailing dot.
    An IPv6 literal (urlsplit has taken off its brackets) is returned as it is."""
    if "%" in host:
        raise TargetRefused("must not carry a zone id or %-escapes in the host")
    if ":" in host:
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise TargetRefused("has a host name that is not valid") from None
    ascii_host = ascii_host.removesuffix(".")
    if not _HOST.fullmatch(ascii_host):
        raise TargetRefused("has a host name that is not valid")
    return ascii_host


def host_address(host: str) -> IPAddress | None:
    """The address a normalised host names, or None if it is a name to look up."""
    if ":" in host:
        try:
            return IPv6Address(host)
        except ValueError:
            raise TargetRefused("has an IPv6 address that is not valid") from None
    if not _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        return None
    address = parse_ipv4(host)
    if address is None:
        raise TargetRefused("has an IPv4 address that is not valid")
    return address


def parse_ipv4(text: str) -> IPv4Address | None:
    """IPv4 as inet_aton (and so getaddrinfo) reads it: 1 to 4 parts, each decimal, octal
    (leading 0) or hex (0x); the last part fills the bytes left: `127.1` is 127.0.0.1.
    The system's own inet_aton reads it (no socket is opened); only the characters an address
    can hold are passed, since it would take text after a space as a comment."""
    if not _IPV4_TEXT.fullmatch(text):
        return None
    try:
        return IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries and reaches: mapped, translated, compatible,
    NAT64 (well-known prefix) or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    low = IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64 or address in _TRANSLATED:
        return low
    if address in _COMPATIBLE and int(address) > 1:
        return low
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why no webhook may reach `address` ("127.0.0.1 is loopback"), or None if public."""
    why = _why(address)
    return f"{address} {why}" if why else None


def _why(address: IPAddress) -> str | None:
    if isinstance(address, IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            inner_why = _why(inner)
            if inner_why:
                return f"is an IPv6 form of {inner}, which {inner_why}"
            if address.ipv4_mapped is not None:
                return None  # ::ffff:a.b.c.d is a.b.c.d, which is public
    rules = FORBIDDEN_V4 if isinstance(address, IPv4Address) else FORBIDDEN_V6
    for network, why in rules:
        if address in network:
            return why
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return "is not a public address"
    return None


def name_refusal(host: str) -> str | None:
    """Why no webhook may use the normalised host name `host`, or None."""
    if host in METADATA_NAMES:
        return f"{host} is a cloud metadata service"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine"
    if "." not in host:
        return f"{host} is a single-label name, which resolves inside the network"
    for suffix in PRIVATE_SUFFIXES:
        if host.endswith("." + suffix):
            return f"{host} is under .{suffix}, which resolves inside the network"
    return None
