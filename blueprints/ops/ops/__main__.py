"""`python3 -m ops ...`: see ops/cli.py."""

import sys

from .cli import main

sys.exit(main())
