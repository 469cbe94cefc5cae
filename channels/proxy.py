"""The outbound proxy the environment names (``HTTPS_PROXY``, ``NO_PROXY``), read once per client.

aiohttp's ``trust_env`` would look the variables up, and read ``~/.netrc``, in a worker thread
before every call; the platform clients resolve the proxy when they are built instead.
"""

from __future__ import annotations

import urllib.parse
import urllib.request


def environment_proxy(url: str) -> str | None:
    """The proxy for ``url`` (as aiohttp's ``trust_env`` would pick it), or None."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)
