"""Export webhook targets (SSRF): every spelling of an internal address is refused, public
receivers are not, and EXPORT_WEBHOOK_ALLOW lets named internal receivers through."""

from __future__ import annotations

import contextlib
import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from service.domain.webhook_targets import (
    FORBIDDEN_V4,
    FORBIDDEN_V6,
    AllowList,
    TargetRefused,
    parse_ipv4,
    resolved_refusal,
    webhook_target,
)
from service.settings import Settings

NOBODY = AllowList()


def refusal(url: str, allow: AllowList = NOBODY) -> str:
    with pytest.raises(TargetRefused) as refused:
        webhook_target(url, allow)
    return str(refused.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        # Cloud metadata, by address and by name.
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://169.254.169.254/", "link-local"),
        ("https://[fd00:ec2::254]/", "unique local"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://METADATA.Google.Internal./", "metadata"),
        ("https://metadata/", "metadata"),
        ("https://instance-data/latest/", "metadata"),
        ("https://metadata.goog/", "metadata"),
        # This machine, any port, any spelling.
        ("http://[::1]:22/", "loopback"),
        ("https://[::1]:6379/", "loopback"),
        ("https://[0:0:0:0:0:0:0:1]/", "loopback"),
        ("https://localhost:5432/", "this machine"),
        ("https://LocalHost./", "this machine"),
        ("https://api.localhost/", "this machine"),
        ("https://ⓛocalhost/", "this machine"),  # IDNA maps it to localhost
        ("https://127.0.0.1:8000/", "loopback"),
        ("https://127.1/", "loopback"),
        ("https://127.0.1/", "loopback"),
        ("https://2130706433/", "loopback"),
        ("https://0177.0.0.1/", "loopback"),
        ("https://0x7f.1/", "loopback"),
        ("https://0X7F000001/", "loopback"),
        ("https://017700000001/", "loopback"),
        ("https://127.000.000.001/", "loopback"),
        ("https://127.0.0.1./", "loopback"),
        ("https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "loopback"),  # fullwidth digits
        ("https://127。0。0。1/", "loopback"),  # ideographic full stops
        ("https://0/", "this network"),
        ("https://0.0.0.0:8000/", "this network"),
        ("https://[::]/", "unspecified"),
        # Private, shared and special networks.
        ("https://10.0.0.1/", "RFC 1918"),
        ("https://012.1/", "RFC 1918"),  # octal 10
        ("https://172.16.5.4/", "RFC 1918"),
        ("https://172.31.255.255/", "RFC 1918"),
        ("https://192.168.1.1/", "RFC 1918"),
        ("https://3232235777/", "RFC 1918"),  # 192.168.1.1
        ("https://100.64.0.1/", "carrier-grade NAT"),
        ("https://100.127.255.254/", "carrier-grade NAT"),
        ("https://192.0.0.8/", "IETF"),
        ("https://198.18.0.1/", "benchmarking"),
        ("https://203.0.113.9/", "documentation"),
        ("https://224.0.0.251/", "multicast"),
        ("https://239.255.255.250/", "multicast"),
        ("https://240.0.0.1/", "reserved"),
        ("https://255.255.255.255/", "reserved"),
        ("https://[fc00::1]/", "unique local"),
        ("https://[FE80::1]/", "link-local"),
        ("https://[fec0::1]/", "site-local"),
        ("https://[ff02::1]/", "multicast"),
        ("https://[2001:db8::1]/", "documentation"),
        ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"),
        # IPv6 forms that carry an internal IPv4 address.
        ("https://[::ffff:127.0.0.1]/", "IPv6 form of 127.0.0.1"),
        ("https://[::ffff:7f00:1]/", "IPv6 form of 127.0.0.1"),
        ("https://[0:0:0:0:0:ffff:a9fe:a9fe]/", "IPv6 form of 169.254.169.254"),
        ("https://[::127.0.0.1]/", "IPv6 form of 127.0.0.1"),
        ("https://[::ffff:0:10.0.0.1]/", "IPv6 form of 10.0.0.1"),
        ("https://[64:ff9b::169.254.169.254]/", "IPv6 form of 169.254.169.254"),
        ("https://[64:ff9b:1::1]/", "NAT64"),
        ("https://[2002:a9fe:a9fe::1]/", "IPv6 form of 169.254.169.254"),
        ("https://[2002:c0a8:101::]/", "IPv6 form of 192.168.1.1"),
        # Names that only resolve inside a network.
        ("https://db.internal/", ".internal"),
        ("https://printer.local/", ".local"),
        ("https://router.lan/", ".lan"),
        ("https://kubernetes.default.svc/", ".svc"),
        ("https://1.0.0.127.in-addr.arpa/", ".arpa"),
        ("https://intranet:8080/", "single-label"),
        # Not a URL the service calls.
        ("http://hooks.example/in", "https"),
        ("http://8.8.8.8/in", "https"),
        ("ftp://hooks.example/in", "http or https"),
        ("https://hooks.example:0/", "port 0"),
        ("https://hooks.example:99999/", "port"),
        ("https://1.2.3.4.5/", "IPv4 address that is not valid"),
        ("https://0x/", "IPv4 address that is not valid"),
        ("https://09.1.1.1/", "IPv4 address that is not valid"),  # 9 is no octal digit
        ("https://hooks.1/", "IPv4 address that is not valid"),
        ("https://%6c%6f%63%61%6c%68%6f%73%74/", "%-escapes"),
        ("https://[fe80::1%25eth0]/", "zone id"),
        ("https://[v1.fe80]/", "IPv6"),
        ("https://a..b/", "not valid"),
        ("https://exa mple.com/", "not valid"),
    ],
)
def test_internal_and_odd_targets_are_refused_saying_why(url: str, reason: str) -> None:
    assert reason in refusal(url)


@pytest.mark.parametrize(
    ("url", "host", "port", "path"),
    [
        ("https://hooks.example/in", "hooks.example", 443, "/in"),
        ("https://Hooks.Example.:8443/x?y=1#frag", "hooks.example", 8443, "/x?y=1"),
        ("https://bücher.example", "xn--bcher-kva.example", 443, "/"),
        ("https://8.8.8.8/", "8.8.8.8", 443, "/"),
        ("https://134744072/", "8.8.8.8", 443, "/"),
        ("https://[2606:4700::1111]:444/", "2606:4700::1111", 444, "/"),
        ("https://[::ffff:8.8.8.8]/", "::ffff:808:808", 443, "/"),
        ("https://[2002:808:808::1]/", "2002:808:808::1", 443, "/"),
        ("https://172.32.0.1/", "172.32.0.1", 443, "/"),  # just past 172.16.0.0/12
        ("https://100.128.0.1/", "100.128.0.1", 443, "/"),  # just past 100.64.0.0/10
        ("https://1e100.net/", "1e100.net", 443, "/"),
    ],
)
def test_public_receivers_are_accepted(url: str, host: str, port: int, path: str) -> None:
    target = webhook_target(url, NOBODY)
    assert (target.host, target.port, target.path, target.allowed) == (host, port, path, False)


def test_the_allow_list_lets_named_hosts_and_networks_through_plain_http_included() -> None:
    settings = Settings.from_env({"EXPORT_WEBHOOK_ALLOW": "Hooks.LAN., [::1], 10.1.2.0/24"})
    allow = AllowList.parse(settings.export_webhook_allow)
    assert webhook_target("http://hooks.lan:8080/in", allow).allowed
    assert webhook_target("https://HOOKS.lan./in", allow).allowed
    assert webhook_target("http://[::1]:9000/", allow).allowed
    assert webhook_target("http://10.1.2.3/", allow).allowed
    assert webhook_target("http://0xa.0x1.0x2.3/", allow).host == "10.1.2.3"
    assert webhook_target("http://[::ffff:10.1.2.3]/", allow).allowed  # the same host
    assert "RFC 1918" in refusal("https://10.1.3.1/", allow)
    assert ".lan" in refusal("https://other.lan/", allow)
    assert "loopback" in refusal("https://127.0.0.1/", allow)
    assert "this machine" in refusal("https://localhost/", allow)  # names are exact
    assert "https" in refusal("http://hooks.example/", allow)


def test_a_resolved_address_is_checked_unless_the_name_or_network_is_allowed() -> None:
    target = webhook_target("https://hooks.example/in", NOBODY)
    assert resolved_refusal(target, ip_address("93.184.216.34"), NOBODY) is None
    assert resolved_refusal(target, ip_address("10.0.0.7"), NOBODY) == (
        "hooks.example resolves to 10.0.0.7, which is private (RFC 1918)"
    )
    reason = resolved_refusal(target, ip_address("::ffff:169.254.169.254"), NOBODY)
    assert reason is not None and "IPv6 form of 169.254.169.254" in reason
    by_name = AllowList.parse(["hooks.example"])
    assert resolved_refusal(target, ip_address("10.0.0.7"), by_name) is None
    by_network = AllowList.parse(["10.0.0.0/8"])
    assert resolved_refusal(target, ip_address("10.0.0.7"), by_network) is None
    assert resolved_refusal(target, ip_address("::ffff:10.0.0.7"), by_network) is None
    assert resolved_refusal(target, ip_address("127.0.0.1"), by_network) is not None


# Properties: any address of a forbidden network, in any spelling a resolver accepts.

V4_NETWORKS = [net for net, _ in FORBIDDEN_V4]
V6_NETWORKS = [net for net, _ in FORBIDDEN_V6]


def _in(network: IPv4Network | IPv6Network) -> st.SearchStrategy[int]:
    return st.integers(int(network.network_address), int(network.broadcast_address))


def _part(value: int, style: str, zeros: int, upper: bool) -> str:
    if style == "octal":
        return "0" * (zeros + 1) + format(value, "o")
    if style == "hex":
        digits = "0" * zeros + format(value, "X" if upper else "x")
        return ("0X" if upper else "0x") + digits
    return str(value)


@st.composite
def ipv4_spelling(draw: st.DrawFn, value: int) -> str:
    """`value` as inet_aton reads it: 1 to 4 parts, each decimal, octal or hex."""
    count = draw(st.integers(1, 4))
    octets = value.to_bytes(4, "big")
    parts = [*octets[: count - 1], int.from_bytes(octets[count - 1 :], "big")]
    styles = st.sampled_from(["decimal", "octal", "hex"])
    spelled = [_part(p, draw(styles), draw(st.integers(0, 3)), draw(st.booleans())) for p in parts]
    host = ".".join(spelled)
    if draw(st.booleans()):
        host += "."
    if count == 4 and draw(st.booleans()) and all(s.isdigit() and s[0] != "0" for s in spelled):
        host = host.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})  # fullwidth
    return host


@st.composite
def ipv6_spelling(draw: st.DrawFn, address: IPv6Address) -> str:
    spelled = draw(st.sampled_from([address.compressed, address.exploded]))
    return spelled.upper() if draw(st.booleans()) else spelled


@st.composite
def ipv4_in_ipv6(draw: st.DrawFn, value: int) -> str:
    """The IPv6 forms that reach an IPv4 address: mapped, compatible, translated, NAT64, 6to4."""
    dotted = str(IPv4Address(value))
    form = draw(
        st.sampled_from(
            [
                f"::ffff:{dotted}",
                str(IPv6Address((0xFFFF << 32) | value)),
                f"0:0:0:0:0:ffff:{dotted}",
                f"::{dotted}",
                f"::ffff:0:{dotted}",
                f"64:ff9b::{dotted}",
                str(IPv6Address((0x2002 << 112) | (value << 80) | draw(st.integers(0, 2**64)))),
            ]
        )
    )
    return form.upper() if draw(st.booleans()) else form


@st.composite
def forbidden_url(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    port = draw(st.one_of(st.none(), st.integers(1, 65535)))
    if draw(st.booleans()):
        value = draw(st.sampled_from(V4_NETWORKS).flatmap(_in))
        host = draw(st.one_of(ipv4_spelling(value), ipv4_in_ipv6(value).map(lambda h: f"[{h}]")))
    else:
        address = IPv6Address(draw(st.sampled_from(V6_NETWORKS).flatmap(_in)))
        host = f"[{draw(ipv6_spelling(address))}]"
    return f"{scheme}://{host}{'' if port is None else f':{port}'}/hook"


@given(forbidden_url())
def test_any_spelling_of_any_forbidden_address_is_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        webhook_target(url, NOBODY)


PUBLIC_V4 = st.one_of(
    st.integers(int(IPv4Address("11.0.0.0")), int(IPv4Address("99.255.255.255"))),
    st.integers(int(IPv4Address("128.0.0.0")), int(IPv4Address("168.255.255.255"))),
)


@st.composite
def forbidden_address(draw: st.DrawFn) -> IPv4Address | IPv6Address:
    if draw(st.booleans()):
        value = draw(st.sampled_from(V4_NETWORKS).flatmap(_in))
        if draw(st.booleans()):
            return IPv4Address(value)
        return IPv6Address(draw(ipv4_in_ipv6(value)))
    return IPv6Address(draw(st.sampled_from(V6_NETWORKS).flatmap(_in)))


@given(forbidden_address())
def test_a_name_resolving_to_any_forbidden_address_is_refused(
    address: IPv4Address | IPv6Address,
) -> None:
    target = webhook_target("https://hooks.example/in", NOBODY)
    reason = resolved_refusal(target, address, NOBODY)
    assert reason is not None and reason.startswith(f"hooks.example resolves to {address}, ")
    assert resolved_refusal(target, address, AllowList.parse(["hooks.example"])) is None


@given(PUBLIC_V4.flatmap(lambda v: st.tuples(st.just(v), ipv4_spelling(v))))
def test_a_public_address_in_any_spelling_is_that_address(spelled: tuple[int, str]) -> None:
    value, host = spelled
    address = IPv4Address(value)
    assume(address.is_global and not address.is_multicast)
    assume(not any(address in net for net in V4_NETWORKS))
    target = webhook_target(f"https://{host}/hook", NOBODY)
    assert target.address == address and target.host == str(address)


@given(st.text(alphabet="0123456789abcdefxX.", min_size=1, max_size=24))
def test_ipv4_parsing_agrees_with_the_system_resolver(text: str) -> None:
    try:
        expected: IPv4Address | None = IPv4Address(socket.inet_aton(text))
    except OSError:
        expected = None
    assert parse_ipv4(text) == expected


@given(st.text(max_size=80))
def test_any_host_text_is_accepted_or_refused_never_an_error(host: str) -> None:
    with contextlib.suppress(TargetRefused):
        webhook_target(f"https://{host}/", NOBODY)
