"""The admin API: staff tools with a bearer token and a role."""
