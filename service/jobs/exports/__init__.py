"""Scheduled report exports (issue #8, docs/EXPORTS.md): rows, files, destinations, the
runner of one attempt, the scheduler loop and their commands."""
