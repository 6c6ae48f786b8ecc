"""`python -m bench load --rate R --seconds S [--json]`: the real bot under a steady stream of /fact.

The bot is started exactly as users start it (`python -m bot run`, a subprocess, via
`tests/e2e_support.BotProcess`) against the fake Discord (`tests/fake_discord`), which runs in this
process and sends `/fact` interactions at a fixed rate (open loop: the next one goes out on time
whatever happened to the last). For every interaction the fake records when it was dispatched, when
the bot's first response reached it (the answer, a defer, or the busy notice) and when the user saw
the finished message (the answer itself, or the follow-up after a defer). Reported: p50/p99/max of
both, how many first responses took over 3 s (Discord's rule: after that the user sees "This
interaction failed"), how many were not finished within 30 s, and the outcome mix.

The per-user cooldown is raised for the run, so every interaction does real work (a "slow down"
reply would flatter the numbers); the queries cycle through the benchmark's 20 natural queries.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.corpus import OUT_DIR
from bench.runner import QUERIES

ROOT = Path(__file__).resolve().parents[1]
ACK_RULE_S = 3.0
DONE_WITHIN_S = 30.0
BUSY_TITLE = "Busy"  # the title of the bot's busy notice (`bot.discord.backlog`)


def log(message: str) -> None:
    print(f"[bench load] {message}", file=sys.stderr, flush=True)


def _fake_discord() -> Any:
    """The fake and the bot launcher live with the tests; put them on the path."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import e2e_support
    import fake_discord

    return fake_discord, e2e_support


def sampling_fake(fake_discord: Any, every: int) -> Any:
    """The fake, checking one request body in `every` against Discord's OpenAPI schema.

    Full validation costs the fake ~8 ms of CPU per request, on the same two cores as the bot: at
    300 interactions a second that alone would need more than a core. Every body is still validated
    during the warm-up, and one in `every` during the run (any rejection is reported).
    """

    class SamplingFake(fake_discord.FakeDiscord):  # type: ignore[misc,name-defined]
        validate_every = 1
        _seen = 0

        def _validate_body(self, req: Any) -> None:
            self._seen += 1
            if self.validate_every <= 1 or self._seen % self.validate_every == 0:
                super()._validate_body(req)

    return SamplingFake


@dataclass
class Outcome:
    first_ms: float | None  # dispatch -> first accepted callback
    done_ms: float | None  # dispatch -> the finished message (answer, busy notice, or follow-up)
    kind: str  # answered | deferred | busy | error | none


def outcome_of(rec: Any) -> Outcome:
    """What one interaction looked like to its user, from the fake's record."""
    if rec.callback_at is None:
        return Outcome(None, None, "none")
    first = 1000 * (rec.callback_at - rec.dispatched_at)
    text = rec.visible_text()
    if rec.callback_type in (4, 7):
        kind = "busy" if BUSY_TITLE in text.split("\n", 1)[0] else "answered"
        if "went wrong" in text.lower():
            kind = "error"
        return Outcome(first, first, kind)
    finished = [e.at for e in rec.events if e.kind in ("followup", "edit") and e.status == 200]
    if not finished:
        return Outcome(first, None, "deferred")
    kind = "error" if "went wrong" in text.lower() else "deferred"
    if BUSY_TITLE in text.split("\n", 1)[0]:
        kind = "busy"
    return Outcome(first, 1000 * (min(finished) - rec.dispatched_at), kind)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)], 1)


def _proc_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarize(outcomes: list[Outcome], rate: float, seconds: float, offered_s: float) -> dict[str, Any]:
    firsts = [o.first_ms for o in outcomes if o.first_ms is not None]
    dones = [o.done_ms for o in outcomes if o.done_ms is not None]
    kinds: dict[str, int] = {}
    for o in outcomes:
        kinds[o.kind] = kinds.get(o.kind, 0) + 1
    over = sum(1 for o in outcomes if o.first_ms is None or o.first_ms > ACK_RULE_S * 1000)
    not_done = sum(1 for o in outcomes if o.done_ms is None or o.done_ms > DONE_WITHIN_S * 1000)
    return {
        "rate": rate,
        "seconds": seconds,
        "sent": len(outcomes),
        "offered_rate": round(len(outcomes) / offered_s, 1) if offered_s > 0 else None,
        "first_response_ms": {
            "p50": percentile(firsts, 50),
            "p99": percentile(firsts, 99),
            "max": percentile(firsts, 100),
        },
        "completion_ms": {"p50": percentile(dones, 50), "p99": percentile(dones, 99), "max": percentile(dones, 100)},
        "over_3s": over,
        "not_completed_within_30s": not_done,
        "outcomes": dict(sorted(kinds.items())),
    }


async def run_load(
    rate: float,
    seconds: float,
    *,
    workdir: Path | None = None,
    settings: dict[str, object] | None = None,
    validate_every: int = 20,
    warmup: int = len(QUERIES),
) -> dict[str, Any]:
    fake_discord, e2e_support = _fake_discord()
    logging.getLogger("fake_discord").setLevel(logging.CRITICAL)  # counted below, not printed one by one
    workdir = workdir or OUT_DIR / "load"
    count = max(1, round(rate * seconds))
    async with sampling_fake(fake_discord, validate_every)(validate_responses=False) as fake:
        bot = e2e_support.BotProcess(fake, workdir, "load", COOLDOWN_USES=10**9, **(settings or {}))
        if "ANSWER_DEFER_MS" not in {k.upper() for k in settings or {}}:
            bot.env.pop("ANSWER_DEFER_MS", None)  # the tests' generous value: measure the bot's default
        try:
            bot.log_path.unlink(missing_ok=True)
            bot.start()
            await bot.wait_ready(timeout=120)
            log(f"bot ready (pid {bot.pid}); warming up")
            for query in QUERIES[:warmup]:  # caches warm, the model loaded: measure the steady state
                rec = await fake.slash("fact", {"query": query})
                await rec.wait_for_message(15)
            fake.violations.clear()
            warm = set(fake.interactions)
            fake.validate_every = validate_every
            load_before = os.getloadavg()
            cpu_before = _proc_cpu_seconds(bot.pid)
            own_before = time.process_time()
            log(f"sending {count} /fact at {rate:g}/s for {seconds:g} s")
            records: list[Any] = []
            started = time.monotonic()
            for i in range(count):
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                records.append(await fake.slash("fact", {"query": QUERIES[i % len(QUERIES)]}))
            offered_s = max(time.monotonic() - started, 1e-9)
            last = time.monotonic()

            def finished() -> bool:
                return all(outcome_of(r).done_ms is not None for r in records)

            try:
                await fake.wait_until(finished, DONE_WITHIN_S + 5 - (time.monotonic() - last), "every interaction done")
            except TimeoutError:
                log("not every interaction finished")
            await asyncio.sleep(0.2)
            cpu_after = _proc_cpu_seconds(bot.pid)
            report = summarize([outcome_of(r) for r in records], rate, seconds, offered_s)
            report["violations"] = [str(v) for v in fake.violations[:5]]
            report["violation_count"] = len(fake.violations)
            report["bot_cpu_s"] = round(cpu_after - cpu_before, 2) if cpu_before is not None and cpu_after else None
            report["fake_cpu_s"] = round(time.process_time() - own_before, 2)
            report["warmup_interactions"] = len(warm)
            log_text = bot.log_text()
            report["bot_log"] = {
                "cant_keep_up": log_text.count("Can't keep up"),
                "tracebacks": log_text.count("Traceback"),
            }
            report["machine"] = {
                "nproc": os.cpu_count(),
                "python": platform.python_version(),
                "loadavg_1m_before": round(load_before[0], 2),
                "loadavg_1m_after": round(os.getloadavg()[0], 2),
            }
            code = await bot.stop()
            report["bot_exit"] = code
        finally:
            bot.kill()
    return report


def format_report(r: dict[str, Any]) -> str:
    f, c = r["first_response_ms"], r["completion_ms"]
    lines = [
        f"{r['sent']} /fact at {r['rate']:g}/s for {r['seconds']:g} s (offered {r['offered_rate']}/s)",
        f"first response  p50 {f['p50']} ms  p99 {f['p99']} ms  max {f['max']} ms",
        f"completion      p50 {c['p50']} ms  p99 {c['p99']} ms  max {c['max']} ms",
        f"over 3 s: {r['over_3s']}   not done within 30 s: {r['not_completed_within_30s']}",
        "outcomes: " + ", ".join(f"{k} {v}" for k, v in r["outcomes"].items()),
        f"bot CPU {r['bot_cpu_s']} s, fake CPU {r['fake_cpu_s']} s; load average "
        f"{r['machine']['loadavg_1m_before']} → {r['machine']['loadavg_1m_after']} on {r['machine']['nproc']} CPUs",
    ]
    if r["violation_count"]:
        lines.append(f"fake's rule violations: {r['violation_count']} (first: {r['violations'][:1]})")
    return "\n".join(lines)
