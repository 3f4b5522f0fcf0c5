"""Core: the utility's records and the queries over them."""
