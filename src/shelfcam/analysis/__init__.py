"""The analysis worker: one frame through vision and the engine and its events written, in
one transaction per frame (docs/architecture.md, "The life of one frame")."""
