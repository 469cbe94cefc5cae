"""The platform channels the hub serves: their webhooks, and their adapters built from the hub's
settings when their credentials are set.

Everything else about a channel lives in its package (``channels/line/``, ``channels/facebook/``);
this module only hands it what comes from the hub: credentials, hosts, the var folder and the
button texts of the knowledge base's ``responses.yml``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.settings import Settings
from channels import facebook, line
from channels.base import ChannelAdapter, WebhookSpec
from knowledge_base.conversation import load_responses

# line-bot-sdk takes seconds to import: it loads only when LINE is configured.
if TYPE_CHECKING:
    from channels.facebook.adapter import MessengerAdapter
    from channels.line.adapter import LineAdapter

# Each is served at /webhooks/<channel> by app/webhooks/routes.py.
WEBHOOK_CHANNELS: tuple[WebhookSpec, ...] = (line.WEBHOOK, facebook.WEBHOOK)


def configured_platform_adapters(
    settings: Settings, config_errors: dict[str, str]
) -> dict[str, ChannelAdapter]:
    """The LINE and Messenger adapters, each built only when its credentials are configured."""
    adapters: dict[str, ChannelAdapter] = {}
    if (line_adapter := build_line_adapter(settings, config_errors)) is not None:
        adapters["line"] = line_adapter
    if (messenger := build_messenger_adapter(settings, config_errors)) is not None:
        adapters["facebook"] = messenger
    return adapters


def build_line_adapter(settings: Settings, config_errors: dict[str, str]) -> LineAdapter | None:
    """The adapter when both credentials are set; else the webhook answers 503."""
    if settings.line_channel_secret is None or settings.line_channel_access_token is None:
        return None
    from channels.line.adapter import LineAdapter
    from channels.line.messages import LineLabels
    from channels.line.rich_menu import load_menu, postback_texts

    responses = load_responses()
    return LineAdapter(
        channel_secret=settings.line_channel_secret.get_secret_value(),
        access_token=settings.line_channel_access_token.get_secret_value(),
        api_base_url=settings.line_api_base_url,
        data_api_base_url=settings.line_data_api_base_url,
        labels=LineLabels(source=responses.source_label, human=responses.quick_reply_human),
        var_dir=settings.var_dir,
        postback_texts=postback_texts(load_menu()),
        config_errors=config_errors,
    )


def build_messenger_adapter(settings: Settings, config_errors: dict[str, str]) -> MessengerAdapter | None:
    """The adapter when all three credentials are set; else the webhook answers 503."""
    secrets = (
        settings.facebook_app_secret,
        settings.facebook_verify_token,
        settings.facebook_page_access_token,
    )
    if any(secret is None or not secret.get_secret_value() for secret in secrets):
        return None
    from channels.facebook.adapter import MessengerAdapter
    from channels.facebook.messages import MessengerLabels

    app_secret, verify_token, page_token = (s.get_secret_value() for s in secrets if s is not None)
    responses = load_responses()
    return MessengerAdapter(
        app_secret=app_secret,
        verify_token=verify_token,
        page_access_token=page_token,
        graph_api_base_url=settings.facebook_graph_api_base_url,
        labels=MessengerLabels(
            source=responses.source_label,
            human=responses.quick_reply_human,
            cancel=responses.quick_reply_cancel,
        ),
        config_errors=config_errors,
    )
