"""Price cards: load and validate them, choose the one in effect, and the arithmetic of a cost."""
