"""The URLs of a CPO we will call (``adapters/ocpi_client.py`` ``check_peer_url``): https on a public
address only, so a registration cannot point us into our own network (SSRF)."""

from __future__ import annotations

import pytest

from adapters.ocpi_client import PeerUnusable, PeerUrlRefused, check_peer_url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        pytest.param("http://93.184.215.14/ocpi/versions", "not https", id="http"),
        pytest.param("ftp://93.184.215.14/ocpi/versions", "not https", id="ftp"),
        pytest.param("https://10.0.0.1/ocpi/versions", "10.0.0.1 is a private address", id="private"),
        pytest.param("https://192.168.1.20:8443/v", "private", id="private with port"),
        pytest.param("https://169.254.169.254/latest/meta-data", "link-local", id="cloud metadata"),
        pytest.param("https://127.0.0.1/ocpi/versions", "127.0.0.1 is a loopback address", id="loopback"),
        pytest.param("https://[::1]/ocpi/versions", "loopback", id="IPv6 loopback"),
        pytest.param("https://[::ffff:127.0.0.1]/v", "loopback", id="IPv4-mapped loopback"),
        pytest.param("https://0.0.0.0/v", "unspecified", id="unspecified"),
        pytest.param("https://224.0.0.1/v", "multicast", id="multicast"),
        pytest.param("https://240.0.0.1/v", "reserved", id="reserved"),
        pytest.param("https://localhost/ocpi/versions", "resolves to", id="a name of a loopback address"),
        pytest.param("https://no-such-host.invalid/ocpi/versions", "does not resolve", id="unresolvable"),
        pytest.param("https:///ocpi/versions", "no host", id="no host"),
        pytest.param("https://[::1/v", "not a URL", id="garbled"),
    ],
)
async def test_a_url_we_must_not_call_is_refused_naming_it_and_why(url: str, why: str) -> None:
    with pytest.raises(PeerUrlRefused) as refused:
        await check_peer_url(url, allow_insecure=False)
    assert url in str(refused.value)
    assert why in str(refused.value)
    assert isinstance(refused.value, PeerUnusable), "answered as the peer's unusable API: 3001"


@pytest.mark.parametrize("url", ["https://93.184.215.14/ocpi/versions", "https://[2606:2800:21f:cb07::1]:443/v"])
async def test_https_on_a_public_address_passes(url: str) -> None:
    await check_peer_url(url, allow_insecure=False)


async def test_the_local_stack_flag_lets_http_on_loopback_through_and_nothing_else() -> None:
    await check_peer_url("http://127.0.0.1:8100/ocpi/versions", allow_insecure=True)
    await check_peer_url("http://[::1]:8100/ocpi/versions", allow_insecure=True)
    await check_peer_url("https://127.0.0.1:8443/ocpi/versions", allow_insecure=True)
    for url in ("http://10.0.0.1/v", "https://169.254.169.254/v", "file:///etc/passwd", "http://93.184.215.14/v"):
        with pytest.raises(PeerUrlRefused):
            await check_peer_url(url, allow_insecure=True)
