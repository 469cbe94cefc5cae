"""A small Graph API client over aiohttp: one connection pool, explicit timeouts, typed errors.

(aiohttp rather than httpx, as for Rasa: with calls in flight side by side, an httpx call
costs the hub about ten times the CPU of an aiohttp call, ``benchmarks/http_clients.py``.)

Every call goes to ``{base_url}{path}`` (``FACEBOOK_GRAPH_API_BASE_URL`` includes the version)
with the Page access token and its ``appsecret_proof`` as query parameters, as the Graph API
documents. Error bodies look like::

    {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
               "code": 190, "error_subcode": 1234567, "fbtrace_id": "BLBz/WZt8dN"}}

The token never appears in an exception or a log line raised from here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import aiohttp

from channels.proxy import environment_proxy


class GraphApiError(Exception):
    """The Graph API answered with an error."""

    def __init__(
        self,
        status: int,
        *,
        code: int | None,
        subcode: int | None,
        message: str,
        error_type: str = "",
        fbtrace_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}, code {code}/{subcode}: {message}")
        self.status = status
        self.code = code
        self.subcode = subcode
        self.message = message
        self.error_type = error_type
        self.fbtrace_id = fbtrace_id
        self.retry_after = retry_after


class GraphUnavailable(Exception):
    """No answer: connection refused, reset or timed out."""


class GraphClient:
    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        app_secret: str,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._params = {
            "access_token": access_token,
            # Proves the call comes from the app's server (required when "Require App Secret" is on).
            "appsecret_proof": hmac.new(
                app_secret.encode("utf-8"), access_token.encode("utf-8"), hashlib.sha256
            ).hexdigest(),
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds, connect=min(5.0, timeout_seconds))
        self._proxy = environment_proxy(self.base_url)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, path: str, body: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        """POST JSON; the decoded answer, or ``GraphApiError`` / ``GraphUnavailable``."""
        try:
            async with self._http().post(
                self.base_url + path,
                params=self._params,
                data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json"},
                proxy=self._proxy,
                timeout=aiohttp.ClientTimeout(total=timeout) if timeout is not None else self._timeout,
            ) as response:
                status, reason = response.status, response.reason or ""
                retry_after = response.headers.get("retry-after")
                raw = await response.read()
        except TimeoutError:
            raise GraphUnavailable("timed out") from None
        except aiohttp.ClientError as error:
            raise GraphUnavailable(f"no answer ({type(error).__name__})") from None
        data = _json(raw)
        if 200 <= status < 300:
            return data
        raise _error(status, reason, retry_after, data)

    def _http(self) -> aiohttp.ClientSession:
        # Built on first use: an aiohttp session belongs to the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=50),
                trust_env=False,  # the proxy is read once, above
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _error(status: int, reason: str, retry_after: str | None, data: dict[str, Any]) -> GraphApiError:
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    assert isinstance(error, dict)
    return GraphApiError(
        status,
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        message=str(error.get("message") or reason or "")[:300],
        error_type=str(error.get("type") or ""),
        fbtrace_id=str(error["fbtrace_id"]) if error.get("fbtrace_id") else None,
        retry_after=_retry_after(retry_after),
    )


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
