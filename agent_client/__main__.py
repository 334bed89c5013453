"""``python -m agent_client`` runs the ``custos-agent`` client."""

import sys

from agent_client.main import main

sys.exit(main())
