# initiative-bot: slim runtime image, non-root, data in a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOT_DATABASE_URL=sqlite+aiosqlite:////data/bot.db \
    BOT_STORE_PATH=/data/store \
    BOT_HTTP_HOST=0.0.0.0 \
    BOT_HTTP_PORT=8080

RUN useradd --create-home --uid 10001 bot \
    && mkdir /data \
    && chown bot:bot /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY config ./config
RUN pip install --no-compile .

USER 10001
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["initiative-bot"]
CMD ["run"]
