"""HTTP: the ingest endpoint, the JSON API, the admin UI, /healthz and /metrics."""
