"""The Facebook Messenger channel (Messenger Platform, Graph API).

``adapter.py`` answers the subscription check, verifies webhooks, parses their events
(``events.py``) and sends through the Send API (``messages.py`` builds the messages, ``graph.py``
calls the Graph API); ``profile.py`` (with ``profile.yml``) sets the Page's Get Started button,
greeting and persistent menu.
"""

from __future__ import annotations

from channels.base import Channel, WebhookSpec

WEBHOOK = WebhookSpec(
    Channel.FACEBOOK,
    not_configured=(
        "Messenger is not configured (FACEBOOK_APP_SECRET, FACEBOOK_VERIFY_TOKEN, FACEBOOK_PAGE_ACCESS_TOKEN)"
    ),
    subscription_check=True,
)
