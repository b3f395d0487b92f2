"""HTTP ingest: body parsing (raw and multipart), JPEG checks, metadata, the fast path."""
