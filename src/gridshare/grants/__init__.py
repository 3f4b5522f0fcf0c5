"""Core: scopes, authorization details, grants, credentials and tokens (who may read what)."""
