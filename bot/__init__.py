"""factbot: a Discord bot that answers from a curated, sourced fact store."""

__version__ = "0.1.0"
