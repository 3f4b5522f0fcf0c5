"""The HTML face: pages people read (home, support; later login, consent, receipts)."""
