"""`Answers`: every command's answer on one object, one module per command (see `bot.answers.base`)."""

from __future__ import annotations

from bot.answers.compare import CompareAnswers
from bot.answers.fact import FactAnswers
from bot.answers.protocol import ProtocolAnswers
from bot.answers.source import SourceAnswers


class Answers(FactAnswers, SourceAnswers, ProtocolAnswers, CompareAnswers):
    """`/fact`, `/source`, `/protocol` and `/compare` over one open store."""
