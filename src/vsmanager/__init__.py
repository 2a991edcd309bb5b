"""vsmanager: supervise a Vintage Story dedicated server and stream its console."""

__version__ = "0.1.0"
