"""The embeddable widget's source: its parts joined, in order, into the one script at ``/widget.js``.

Agency pages load the widget with one ``<script>`` tag, so it must stay one script; its source is
kept in parts under ``app/static/webchat/widget/`` only to be read and changed a piece at a time.
The parts are cut at statement boundaries of one IIFE (most of them are the body of its
``create()``), so joining them is concatenation, done once when this module is imported; a missing
part stops the hub from starting instead of serving a broken widget.

Each part's first line, ``// widget/<name>: …``, says what it holds to whoever reads the part; it
is dropped from the served script, which every citizen downloads.
"""

from __future__ import annotations

from pathlib import Path

WIDGET_PARTS_DIR = Path(__file__).parent.parent / "static" / "webchat" / "widget"

# The order is the script's: each part may use what the parts before it declared.
WIDGET_PARTS: tuple[str, ...] = (
    "texts.js",  # opens the IIFE: server config, every text the citizen sees, limits
    "helpers.js",  # DOM, text, font and option helpers
    "dom.js",  # create() opens: the host element and its shadow DOM
    "session.js",  # state, and what of it is kept in localStorage
    "panel.js",  # status line, opening and closing, unread badge
    "http.js",  # requests to the web-chat API, the session
    "rendering.js",  # messages, attachments, quick replies, typing
    "outbox.js",  # sending one at a time until the hub has each
    "receiving.js",  # WebSocket, catch-up GET, polling
    "events_and_start.js",  # events; create() and the IIFE close; start()
)

CONFIG_PLACEHOLDER = "/* GOVCHAT_CONFIG */ {}"


def _part_body(parts_dir: Path, name: str) -> str:
    header, _, body = (parts_dir / name).read_text(encoding="utf-8").partition("\n")
    if not header.lstrip().startswith(f"// widget/{name}: "):
        raise RuntimeError(f"widget part {name} must start with a '// widget/{name}: …' line")
    return body


def assemble_widget_source(parts_dir: Path = WIDGET_PARTS_DIR) -> str:
    """The widget's parts joined in order, with the server config still a placeholder."""
    source = "".join(_part_body(parts_dir, name) for name in WIDGET_PARTS)
    if source.count(CONFIG_PLACEHOLDER) != 1:
        raise RuntimeError(f"the widget source must hold {CONFIG_PLACEHOLDER!r} exactly once")
    return source


WIDGET_SOURCE = assemble_widget_source()
