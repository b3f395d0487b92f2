"""shelfcam: a local-first camera activity log."""
