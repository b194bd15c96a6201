"""Getting sessions to the phone: transcripts, the timeline picture, a podcast feed with
its page, and a small read-only server for phones on the same network."""
