"""Custom Rasa components for Thai, loaded by Rasa from ``nlu.rasa_project.components``."""
