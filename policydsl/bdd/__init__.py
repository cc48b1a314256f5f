"""Gherkin features in, pytest tests out: the pytest plugin and the zh/en step library."""
