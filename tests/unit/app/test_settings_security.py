"""Settings that guard the hub (issue 25, 2 and 8)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.cli import main
from app.settings import Settings


def test_a_short_first_admin_password_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 8 characters"):
        Settings(_env_file=None, GOVCHAT_ADMIN_PASSWORD="x")  # type: ignore[call-arg]


def test_govchat_refuses_to_start_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GOVCHAT_ADMIN_PASSWORD", "short")
    assert main(["serve", "--port", "1"]) == 2
    error = capsys.readouterr().err
    assert "GOVCHAT_ADMIN_PASSWORD must be at least 8 characters" in error and "Traceback" not in error


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(ValidationError, match="not an address"):
        Settings(_env_file=None, GOVCHAT_TRUSTED_PROXIES="10.0.0.1, proxy.example")  # type: ignore[call-arg]
    settings = Settings(_env_file=None, GOVCHAT_TRUSTED_PROXIES="10.0.0.1, 192.168.0.0/24")  # type: ignore[call-arg]
    assert settings.trusted_proxies == "10.0.0.1, 192.168.0.0/24"
