"""Redis adapters: every key in keys.py, one module per family of state."""
