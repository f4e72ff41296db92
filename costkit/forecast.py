"""Pure functions over a daily spend series (issue 8)."""
