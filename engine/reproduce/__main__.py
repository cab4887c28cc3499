"""``python -m engine.reproduce``: see :mod:`engine.reproduce.cli`."""
import sys

from engine.reproduce.cli import main

sys.exit(main())
