"""Spend queries grouped by time, model, project, key, user, endpoint, tag (issue 5)."""
