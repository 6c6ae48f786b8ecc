"""Every command's answer as a `Reply` (embeds, limits, notice), one module per command.

Turns search results and store records into what Discord and the offline console both show.
May import `bot.search` and `bot.facts`; never `bot.discord`, `bot.moderation` or the cogs.
"""
