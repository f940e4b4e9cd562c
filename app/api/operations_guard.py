"""With `ADAPTD_OPERATIONS_TOKEN` set, the operator's pages (/metrics and the API docs) need
it, as a bearer token (Prometheus's `authorization`) or as the password of HTTP Basic (so that
a browser asks for it once and the docs page can fetch its schema)."""

import base64
import binascii

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import problem_response
from app.core.problems import Unauthorized
from app.core.security import tokens_equal

GUARDED = frozenset({"/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


class OperationsGuard:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in GUARDED or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        problem = Unauthorized(
            "this page needs the operations token (ADAPTD_OPERATIONS_TOKEN), as a bearer "
            "token or as the password of HTTP Basic",
            headers={"WWW-Authenticate": 'Basic realm="adaptd operations"'},
        )
        await problem_response(problem)(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return tokens_equal(value.strip(), self.token)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            return tokens_equal(decoded.partition(":")[2], self.token)
        return False
