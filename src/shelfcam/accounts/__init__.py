"""Admin accounts: passwords, sessions, API tokens and the failed-login backoff."""
