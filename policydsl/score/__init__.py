"""Batch scoring: the checked model compiled to a relational plan (plan.py) and run by a columnar
engine (duckdb_backend.py). Imports no parser, template engine, test runner or solver."""
