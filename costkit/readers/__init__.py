"""One module per usage-log format, each yielding canonical usage rows or rejections (issue 5)."""
