"""gridshare: a utility's data-sharing server (CDS, Green Button Connect My Data, Beckn/DEG)."""

__version__ = "0.1.0"
