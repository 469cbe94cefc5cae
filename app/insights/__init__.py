"""Insights, open data, retention and data-subject requests (INTERFACES.md, "Insights, open data and retention")."""
