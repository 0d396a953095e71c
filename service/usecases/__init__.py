"""What the service does, one module per use case; see docs/ARCHITECTURE.md."""
