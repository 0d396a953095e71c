"""The demo install: a seeded experiment and (with the snippet issue) a demo article page."""
