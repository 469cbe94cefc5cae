"""Entry point for every Rasa process govchat starts (``python -m nlu.rasa_project.launcher``).

Runs ``rasa <args>`` with telemetry and crash reporting switched off in-process:
``RASA_TELEMETRY_ENABLED=false`` stops Segment events, but Rasa 3.6 sets up Sentry crash
reporting whatever that variable says, so we replace that set-up with a no-op. Citizens'
messages never leave the server.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    import rasa.telemetry

    rasa.telemetry.initialize_error_reporting = lambda: None

    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
