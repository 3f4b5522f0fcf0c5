"""`python -m gridshare` runs the CLI."""

from gridshare.cli import app

app()
