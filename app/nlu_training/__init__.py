"""Background NLU retraining when the knowledge base changes, and its state for the editor."""
