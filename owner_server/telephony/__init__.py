"""The owner's telephony: the provider interface and its providers (Asterisk ARI, simulated), and stored calls."""
