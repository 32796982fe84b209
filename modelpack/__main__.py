"""``python -m modelpack``."""

from __future__ import annotations

import sys

from modelpack.cli import main

sys.exit(main())
