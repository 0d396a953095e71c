"""Scheduled report exports (issue #8, docs/EXPORTS.md): rows, files, destinations, the
runner of one attempt and the scheduler loop; their commands are in service/cli/exports.py."""
