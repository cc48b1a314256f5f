"""Typed model in, evaluable objects out; only internal errors can happen here."""
