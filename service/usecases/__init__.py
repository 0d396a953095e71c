"""Use cases: what the entry points (API, dashboard, jobs, CLI) ask of the service."""
