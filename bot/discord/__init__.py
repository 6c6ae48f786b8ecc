"""The Discord runtime: the bot client, command tree, button views, delivery of replies and health.

The top layer and a thin adapter: it may import every other `bot` package; nothing below imports it.
"""
