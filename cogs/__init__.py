"""Thin adapters between Discord interactions and the answers in `bot/`: no SQL, no rendering here."""
