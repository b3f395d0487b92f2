"""Pure per-device rule engine: scores in, state, events and directives out."""
