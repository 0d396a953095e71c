"""Background jobs, each run as its own process by the CLI: the event flusher, exports."""
