"""Thai NLU: the Rasa project, the embedded engine and the hub's clients for both."""
