"""``python -m owner_server`` runs the ``custos-server`` CLI."""

from owner_server.cli.main import main

main()
