"""Custom actions for the mall assistant, served by `rasa run actions`."""
