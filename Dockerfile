# One image for the Python services of docker-compose.yml: `huntsman controller`,
# `huntsman web` and the one-shot `huntsman db migrate`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so that a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY huntsman ./huntsman
COPY controller ./controller
COPY web ./web
COPY switchsim ./switchsim
COPY db ./db
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin huntsman \
    && install -d -o huntsman -g huntsman /var/lib/huntsman/cdr-spool

# huntsman.migrations finds db/sql next to the huntsman package; the installed copy in
# site-packages has no db/sql beside it, so the sources in /app come first on the path.
ENV PYTHONPATH=/app

USER huntsman
EXPOSE 8084 8080 9108
ENTRYPOINT ["huntsman"]
CMD ["controller"]
