"""shelfcam: a local-first camera activity log."""

__version__ = "0.1.0"
