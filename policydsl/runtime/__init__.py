"""Evaluation: values, the mainland-China calendar, rollouts, facts, decisions. Never imports Lark or Jinja."""
