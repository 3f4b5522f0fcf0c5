"""Loading the utility's records from files: `csv_usage` reads interval usage from CSV.

`readings` gathers a file's readings per channel and local day, `loader` merges them with the
stored blocks and writes them in one transaction, `errors` says what is wrong and where.
"""
