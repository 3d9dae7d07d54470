"""``python -m sovaudit``."""

from sovaudit.cli import main

main()
