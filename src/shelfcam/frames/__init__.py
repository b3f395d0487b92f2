"""Where frames are kept: the frame store interface and its file-system implementation."""
