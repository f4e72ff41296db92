"""Request -> token counts -> cost range with stated assumptions (issue 4)."""
