# aggregator: the daemon (`aggregator run`) in a small image. Data lives in the /data volume:
# feeds.yaml, the SQLite database, its lock file and the published output (public/).
#   docker build -t aggregator .
#   docker run -d --name aggregator -v aggregator-data:/data aggregator
# See docs/deploy.md.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the package needs to build: no tests, no dev dependencies.
COPY pyproject.toml README.md /src/
COPY aggregator /src/aggregator
RUN pip install /src && rm -rf /src

RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin aggregator \
    && mkdir -p /data && chown aggregator:aggregator /data
USER aggregator
WORKDIR /data
VOLUME /data

# Unhealthy when no cycle finished within 3 hours or more than half the feeds fail.
HEALTHCHECK --interval=5m --timeout=30s --start-period=15m --retries=3 \
    CMD ["aggregator", "status", "--check", "-q", "-c", "/data/feeds.yaml"]

# SIGTERM (docker stop) lets the running cycle store, publish and release its lock, then exit 0.
STOPSIGNAL SIGTERM
CMD ["aggregator", "run", "-v", "-c", "/data/feeds.yaml"]
