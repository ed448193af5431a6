# The matchmaker in one image: gunicorn on 0.0.0.0:8000, an SQLite database in the /data volume by default.
#   docker build -t matchmaker .
#   docker run -p 8000:8000 -v matchmaker-data:/data -e MATCHMAKER_DEMO=1 matchmaker
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1 \
    DATABASE_URL=sqlite:////data/matchmaker.sqlite3 \
    MATCHMAKER_DEMO=0

RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin matchmaker \
    && mkdir /data && chown matchmaker:matchmaker /data

WORKDIR /app
COPY . .
# Editable install: the app reads its migrations, templates and translations from /app, and instance/
# (where a SECRET_KEY is generated when none is given) is a link into the volume, so it survives restarts.
RUN pip install -e . \
    && pybabel compile --domain messages --directory api/translations \
    && ln -s /data instance \
    && chmod 0755 docker/entrypoint.sh

USER matchmaker
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
