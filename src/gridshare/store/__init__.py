"""Base layer: the engine, sessions, tables and migrations."""
