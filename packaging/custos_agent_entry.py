"""Entry script of the frozen client: ``agent_client.main:main``, as the ``custos-agent`` console script."""

import sys

from agent_client.main import main

if __name__ == "__main__":
    sys.exit(main())
