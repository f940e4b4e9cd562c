"""Outbound address checks: IPv4 hidden in IPv6 forms is unwrapped, and an attempt connects
to the address that was checked, whatever a second DNS answer would say."""

import asyncio
import ipaddress
import socket
from typing import Any

import pytest

from app.core import outbound
from tests.webhook_receiver import webhook_receiver

NONE_ALLOWED: list[outbound.Network] = []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "::1",
        "::ffff:127.0.0.1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "::10.0.0.1",  # IPv4-compatible
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
        "fe80::1",
        "fc00::1",
    ],
)
def test_non_public_addresses_are_refused_in_every_form(address: str) -> None:
    assert not outbound.is_allowed(ipaddress.ip_address(address), NONE_ALLOWED)
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(outbound.RefusedTarget, match="private, loopback or link-local"):
        outbound.check_target(f"https://{host}/hooks", NONE_ALLOWED)


@pytest.mark.parametrize("address", ["93.184.215.14", "64:ff9b::5db8:d70e", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert outbound.is_allowed(ipaddress.ip_address(address), NONE_ALLOWED)


def test_an_allowlisted_network_admits_its_addresses() -> None:
    allowed = [ipaddress.ip_network("10.0.0.0/8")]
    assert outbound.is_allowed(ipaddress.ip_address("10.1.2.3"), allowed)
    assert not outbound.is_allowed(ipaddress.ip_address("192.168.0.1"), allowed)


def test_an_attempt_connects_to_the_address_checked_with_the_host_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS is the outside world here: the first answer is loopback (allowlisted), any later
    one a metadata address. The request must reach the receiver, named as the URL names it."""
    lookups: list[str] = []

    def rebinding(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "169.254.169.254"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with webhook_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        url = f"http://hooks.example.test:{port}/hooks?token=abc"
        target = outbound.check_target(url, [ipaddress.ip_network("127.0.0.1/32")])

        async def send() -> outbound.Answer:
            async with outbound.client(deadline=5) as client:
                return await outbound.post(
                    client, target, body="{}", headers={}, deadline=5, max_answer_bytes=100
                )

        answer = asyncio.run(send())

    assert answer.status_code == 200
    assert lookups == ["hooks.example.test"]
    [request] = receiver.requests
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["host"] == f"hooks.example.test:{port}"
