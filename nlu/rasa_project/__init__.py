"""The Rasa 3.6 project (runs under Rasa's own Python 3.10 environment, not the hub's)."""
