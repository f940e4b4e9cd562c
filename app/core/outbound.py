"""Outbound HTTP to addresses users give us.

The host is resolved once, every address it resolves to is checked (no private, loopback or
link-local target unless allowlisted, IPv4 unwrapped from the IPv6 forms that carry it), and the
request connects to the address that was checked, keeping the Host header and the TLS server
name, so that no second lookup can point it elsewhere. No redirects; one deadline covers the
connection, the request and the whole answer, of which only the first bytes are read."""

import asyncio
import functools
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class RefusedTarget(ValueError):
    """The URL points somewhere adaptd will not call."""


class DeadlineExceeded(Exception):
    """The endpoint did not answer in full within the deadline."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the one address to connect to."""

    url: str
    host: str
    address: Address

    @property
    def pinned_url(self) -> str:
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def host_header(self) -> str:
        parts = urlsplit(self.url)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if parts.port is None else f"{host}:{parts.port}"


@dataclass(frozen=True)
class Answer:
    status_code: int
    retry_after: str | None
    excerpt: str


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


def check_target(url: str, allowed: list[Network]) -> Target:
    """Resolve the URL's host once; refuse it if any address it resolves to is not public and
    not allowlisted."""
    host = check_url_shape(url)
    addresses = _resolve(host)
    for address in addresses:
        if not is_allowed(address, allowed):
            raise RefusedTarget(
                f"{host} resolves to {address}, a private, loopback or link-local address; "
                "add it to ADAPTD_WEBHOOK_ALLOWED_NETWORKS to allow it"
            )
    return Target(url, host, min(addresses, key=lambda address: (address.version, address)))


def is_allowed(address: Address, allowed: list[Network]) -> bool:
    if any(address in network for network in allowed):
        return True
    return all(_is_public(form) for form in forms_of(address))


def forms_of(address: Address) -> list[Address]:
    """The address and every IPv4 address it carries (mapped, NAT64, 6to4, Teredo, compatible)."""
    if isinstance(address, ipaddress.IPv4Address):
        return [address]
    forms: list[Address] = [address]
    if address.ipv4_mapped is not None:
        forms.append(address.ipv4_mapped)
    if address in NAT64 or address in NAT64_LOCAL:
        forms.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        forms.append(address.sixtofour)
    if address.teredo is not None:
        forms.extend(address.teredo)
    if address in IPV4_COMPATIBLE and int(address) > 1:
        forms.append(ipaddress.IPv4Address(int(address)))
    return forms


async def post(
    client: httpx.AsyncClient,
    target: Target,
    *,
    body: str,
    headers: dict[str, str],
    deadline: float,
    max_answer_bytes: int,
) -> Answer:
    """POST to the checked address; raises httpx.HTTPError on a network failure and
    DeadlineExceeded when the whole exchange takes longer than `deadline` seconds."""
    request = client.build_request(
        "POST",
        target.pinned_url,
        content=body.encode(),
        headers={"content-type": "application/json", **headers, "host": target.host_header},
        extensions={"sni_hostname": target.host},
    )
    try:
        async with asyncio.timeout(deadline):
            response = await client.send(request, stream=True)
            try:
                excerpt = await _read_at_most(response, max_answer_bytes)
            finally:
                await response.aclose()
    except TimeoutError as error:
        raise DeadlineExceeded(f"no complete answer within {deadline:g} s") from error
    return Answer(response.status_code, response.headers.get("retry-after"), excerpt)


@functools.cache
def _tls() -> ssl.SSLContext:
    """The system's trust store, loaded once (it takes tens of milliseconds)."""
    return ssl.create_default_context()


def client(*, deadline: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=deadline,
        trust_env=False,
        verify=_tls(),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    )


async def _read_at_most(response: httpx.Response, limit: int) -> str:
    taken = bytearray()
    async for chunk in response.aiter_raw():
        taken.extend(chunk[: limit - len(taken)])
        if len(taken) >= limit:
            break
    return taken.decode("utf-8", "replace")


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
    return address.is_global and not address.is_multicast
