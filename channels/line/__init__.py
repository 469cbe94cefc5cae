"""The LINE Official Account channel (Messaging API).

``adapter.py`` verifies webhooks, parses their events (``events.py``), replies or pushes
(``messages.py`` builds LINE's messages) and keeps what citizens send (``content.py``);
``rich_menu.py`` (with ``rich_menu.yml`` and ``menu_image.py``) installs the account's rich menu.
Importing the package is cheap: line-bot-sdk loads with the modules that use it.
"""

from __future__ import annotations

from channels.base import Channel, WebhookSpec

WEBHOOK = WebhookSpec(Channel.LINE, not_configured="LINE channel is not configured")
