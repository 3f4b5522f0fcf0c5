"""Plumbing shared by the JSON APIs of every face: error responses (RFC 6749 §5.2, RFC 6750 §3),
bearer tokens and keyset paging."""
