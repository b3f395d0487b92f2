"""Retention: which frames, files and rows go when (``plan``, pure), and the run and the
disk guard that apply it (``runner``, the shell). See docs/retention.md."""
