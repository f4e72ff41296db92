"""Tokenizers (tiktoken encodings) and chat-template rendering per endpoint (issue 3)."""
