"""This repository's operations, one command each: `python3 -m ops --help` lists them.

The Makefile calls one command per target; every command also runs on its own. Standard library
only at import: the lease command loads the OpenStack clients, and the backup commands boto3,
when they need them (`make tools` installs both into .venv).
"""
