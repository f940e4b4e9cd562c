"""Outbound HTTP to addresses users give us: no private, loopback or link-local targets unless
allowlisted, no redirects, bounded timeouts."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(ValueError):
    """The URL points somewhere adaptd will not call."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    retry_after: str | None


def check_url_shape(url: str) -> str:
    """The host of an http(s) URL without credentials; raises RefusedTarget otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RefusedTarget("the URL must start with http:// or https://")
    if not parts.hostname:
        raise RefusedTarget("the URL has no host")
    if parts.username or parts.password:
        raise RefusedTarget("the URL must not carry credentials")
    return parts.hostname


def check_target(url: str, allowed: list[Network]) -> None:
    """Refuse a URL whose host resolves to a non-public address that is not allowlisted."""
    host = check_url_shape(url)
    for address in _resolve(host):
        if _is_public(address) or any(address in network for network in allowed):
            continue
        raise RefusedTarget(
            f"{host} resolves to {address}, a private, loopback or link-local address; "
            "add it to ADAPTD_WEBHOOK_ALLOWED_NETWORKS to allow it"
        )


def post(url: str, *, body: str, headers: dict[str, str], timeout: float) -> Answer:
    """POST without following redirects; raises httpx.HTTPError on a network failure."""
    with httpx.Client(follow_redirects=False, timeout=timeout, trust_env=False) as client:
        response = client.post(
            url, content=body.encode(), headers={"content-type": "application/json", **headers}
        )
    return Answer(response.status_code, response.headers.get("retry-after"))


def _resolve(host: str) -> set[Address]:
    try:
        return {ipaddress.ip_address(host)}
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise RefusedTarget(f"cannot resolve {host}: {error.strerror}") from error
    return {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}


def _is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _is_public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast
