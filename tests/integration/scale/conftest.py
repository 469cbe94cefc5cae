"""The scale tests start real hub processes (``tests/integration/processes.py``)."""

from tests.integration.processes import hubs

__all__ = ["hubs"]
