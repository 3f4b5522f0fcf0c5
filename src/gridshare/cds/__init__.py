"""The CDS face: Connected Data Specifications endpoints (server metadata, coverage, ...)."""
