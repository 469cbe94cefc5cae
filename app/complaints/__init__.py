"""Complaint cases: filed through the bot, tracked by a citizen-facing number."""
