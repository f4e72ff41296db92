"""costkit: price LLM API calls before they are sent; explain, forecast and audit spend after."""

__version__ = "0.1.0"
