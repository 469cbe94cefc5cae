"""Security tests: the hub as an attacker probes it (issue 25), in process and as real processes."""

from tests.integration.officers.conftest import admin_headers

__all__ = ["admin_headers"]
