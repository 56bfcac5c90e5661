"""``python -m gepa`` runs the CLI."""

from gepa.cli import main

main()
