"""The curated FAQ knowledge base: the single source of truth for answers."""
