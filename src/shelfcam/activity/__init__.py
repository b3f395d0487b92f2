"""The activity log as people read it: the timeline of events, their explanations and the
events-per-day stats."""
