"""The web-chat channel: the hub's own widget and API (``app/webchat/``), no outside platform.

``adapter.py`` confirms deliveries (the hub already stored and pushed them) and passes the
"typing" hint on; there is no webhook.
"""
