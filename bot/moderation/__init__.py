"""Moderator state (reports, settings, audit, stats, auto-reply claims) and the moderator answers.

Sits beside `bot.answers`: it may import `bot.answers`, `bot.search` and `bot.facts`, never `bot.discord`.
"""
