# NetworkCore image: the `networkcore` CLI, run as `networkcore api`, `networkcore worker`, `networkcore setup`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Pinned dependencies first, in their own layer: it is rebuilt only when requirements.lock changes.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# Then our code (.dockerignore keeps .venv, .data, .git, caches and any .env out).
COPY . .
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build ./*.egg-info

RUN useradd --system --create-home --uid 10001 --user-group networkcore
USER networkcore

EXPOSE 8000
CMD ["networkcore", "api"]
