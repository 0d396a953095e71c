"""The public edge: what the snippet and the payment side call (no auth, CORS for the snippet)."""
