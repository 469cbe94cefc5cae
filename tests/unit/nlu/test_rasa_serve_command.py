"""How the hub starts Rasa's HTTP server: never without a token, and any token passes intact."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from nlu.rasa_env import RasaEnv
from nlu.rasa_runner import RasaRunError, serve_command

ENV = RasaEnv(Path("/opt/rasa-venv"))


def test_the_api_is_never_served_without_a_token() -> None:
    with pytest.raises(RasaRunError):
        serve_command(ENV, Path("model.tar.gz"), auth_token="")


@pytest.mark.parametrize("token", ["-starts-with-a-dash", "--double", "plain_token-123"])
def test_a_token_that_looks_like_an_option_still_reaches_rasa_as_the_token(token: str) -> None:
    """Generated tokens are URL-safe base64, so one in 64 starts with "-" (Rasa refused to start)."""
    command = serve_command(ENV, Path("model.tar.gz"), auth_token=token)
    # Rasa's `run` parses its arguments with argparse, declared as `-t/--auth-token`.
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("-t", "--auth-token")
    parsed, _ = parser.parse_known_args(command[command.index("run") + 1 :])
    assert parsed.auth_token == token
