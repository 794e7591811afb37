"""``python -m pytest_iam verify|diff|report ...``: see ``cli.py``."""

import sys

from .cli import main

sys.exit(main())
