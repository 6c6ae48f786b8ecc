"""Logging set-up: plain text or one JSON object a line (LOG_FORMAT=json) for log collectors.

Message text never reaches INFO: command logs carry the command, latency, result count and error
reference only. The token is a `SecretStr` and never formatted.
"""

from __future__ import annotations

import json
import logging
import time

from bot.config import Settings

_EXTRA = ("command", "latency_ms", "results", "error_ref", "guild_id", "shard_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _EXTRA:
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["traceback"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.getLogger("discord").setLevel(max(logging.INFO, root.level))
    logging.getLogger("discord.client").addFilter(_no_voice_notice)


def _no_voice_notice(record: logging.LogRecord) -> bool:
    """discord.py warns at every start that voice needs PyNaCl; this bot never joins voice."""
    return "voice will NOT be supported" not in str(record.msg)
