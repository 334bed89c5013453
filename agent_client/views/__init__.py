"""Qt widgets of the agent client; they never talk to the network."""
