"""SQL adapters: table definitions, the engine, and one repository per aggregate."""
