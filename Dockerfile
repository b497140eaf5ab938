# pharmacheck service: the web page and JSON API on port 8000.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PHARMACHECK_DATA_DIR=/var/lib/pharmacheck

WORKDIR /srv/pharmacheck
COPY pyproject.toml README.md rules.yaml ./
COPY model ./model
COPY app ./app
COPY checks ./checks
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin pharmacheck \
    && install -d -o pharmacheck -g pharmacheck /var/lib/pharmacheck

# The embedded database (reports, lists); set PHARMACHECK_DATABASE_URL to use PostgreSQL instead.
VOLUME /var/lib/pharmacheck

USER pharmacheck
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["pharmacheck", "serve", "--host", "0.0.0.0", "--port", "8000"]
