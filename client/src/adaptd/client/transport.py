"""Sending a `Call` over httpx: authentication, retries with backoff, typed errors."""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx

from adaptd import __version__
from adaptd.client.calls import Call
from adaptd.client.config import Connection, require_key
from adaptd.client.errors import ConnectionFailed, error_for
from adaptd.client.retries import Retries

Result = TypeVar("Result")
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
USER_AGENT = f"adaptd-client/{__version__}"


def headers_for(connection: Connection, call: Call[Any]) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, **call.headers}
    if call.authenticated:
        headers["Authorization"] = f"Bearer {require_key(connection)}"
    return headers


def request_for(
    http: httpx.Client | httpx.AsyncClient, connection: Connection, call: Call[Any]
) -> httpx.Request:
    return http.build_request(
        call.method,
        call.path,
        params=call.params,
        json=call.json,
        files=call.files,
        data=call.data,
        content=call.content,
        headers=headers_for(connection, call),
        timeout=call.timeout if call.timeout is not None else http.timeout,
    )


def _broken(error: httpx.TransportError, call: Call[Any]) -> ConnectionFailed:
    return ConnectionFailed(f"{call.method} {call.path}: {type(error).__name__}: {error}")


class Transport:
    def __init__(self, connection: Connection, http: httpx.Client, retries: Retries) -> None:
        self.connection = connection
        self.http = http
        self.retries = retries

    def send(self, call: Call[Result]) -> Result:
        return call.read(self.response(call))

    def response(self, call: Call[Any]) -> httpx.Response:
        """The call's whole answer; a connection broken before the body is in is retried."""
        response = self.open(call, read=True)
        response.close()
        return response

    @contextmanager
    def stream(self, call: Call[Any]) -> Iterator[httpx.Response]:
        """The call's answer with its body unread (server-sent events, a download)."""
        response = self.open(call, read=False)
        try:
            yield response
        finally:
            response.close()

    def open(self, call: Call[Any], *, read: bool) -> httpx.Response:
        retry = 0
        while True:
            request = request_for(self.http, self.connection, call)
            try:
                response = self.http.send(request, stream=True)
                if read or response.is_error:
                    response.read()
            except httpx.TransportError as error:
                if (delay := self.retries.next_delay(retry)) is None:
                    raise _broken(error, call) from error
                time.sleep(delay)
                retry += 1
                continue
            if (delay := self.retries.next_delay(retry, response)) is not None:
                response.close()
                time.sleep(delay)
                retry += 1
                continue
            if response.is_error:
                response.close()
                raise error_for(response)
            return response


class AsyncTransport:
    def __init__(self, connection: Connection, http: httpx.AsyncClient, retries: Retries) -> None:
        self.connection = connection
        self.http = http
        self.retries = retries

    async def send(self, call: Call[Result]) -> Result:
        return call.read(await self.response(call))

    async def response(self, call: Call[Any]) -> httpx.Response:
        response = await self.open(call, read=True)
        await response.aclose()
        return response

    async def open(self, call: Call[Any], *, read: bool) -> httpx.Response:
        """The call's answer (the caller closes it; with `read`, its body is in)."""
        retry = 0
        while True:
            request = request_for(self.http, self.connection, call)
            try:
                response = await self.http.send(request, stream=True)
                if read or response.is_error:
                    await response.aread()
            except httpx.TransportError as error:
                if (delay := self.retries.next_delay(retry)) is None:
                    raise _broken(error, call) from error
                await asyncio.sleep(delay)
                retry += 1
                continue
            if (delay := self.retries.next_delay(retry, response)) is not None:
                await response.aclose()
                await asyncio.sleep(delay)
                retry += 1
                continue
            if response.is_error:
                await response.aclose()
                raise error_for(response)
            return response
