"""The version of costkit: read by the package, the pages it writes and the build."""

__version__ = "0.1.0"
