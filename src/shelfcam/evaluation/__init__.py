"""``shelfcam eval``: labelled sequences through the real pipeline, scored."""
