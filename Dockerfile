# syntax=docker/dockerfile:1
# One image for every Ferry process: the API (the default command), `worker`, `scheduler` and
# `migrate`. docker-compose.yml runs the production-shaped stack from it.

# --- builder: Ferry as a wheel, installed with its dependencies into a virtualenv ------------
FROM python:3.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
COPY workers/ workers/

# Every dependency ships a self-contained manylinux wheel (psycopg[binary], pyarrow, duckdb,
# the ADBC PostgreSQL driver, cryptography…): no compiler here and no system library later.
# The venv gets no pip or setuptools of its own: the runtime never installs anything.
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install /wheels/ferry-*.whl

# --- runtime: the venv, the migrations, a non-root user ---------------------------------------
FROM python:3.11-slim-bookworm AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 ferry \
    && useradd --system --uid 10001 --gid ferry --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin ferry \
    && install -d -o ferry -g ferry -m 0750 /app

COPY --from=builder /opt/venv /opt/venv
# `ferry migrate` (and `serve` on SQLite) find alembic.ini beside FERRY_MIGRATIONS_DIR.
COPY alembic.ini /opt/ferry/alembic.ini
COPY migrations/ /opt/ferry/migrations/
ENV FERRY_MIGRATIONS_DIR=/opt/ferry/migrations

# The working directory is the only writable place: `ferry serve` without a database URL keeps
# its SQLite file and generated secret here.
WORKDIR /app
USER 10001:10001
EXPOSE 8000

# Up means answering HTTP: `/` without a key answers 401, which counts.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import http.client as h; c = h.HTTPConnection('127.0.0.1', 8000, timeout=4); c.request('GET', '/'); c.getresponse()"]

ENTRYPOINT ["ferry"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
