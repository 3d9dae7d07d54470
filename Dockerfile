# sovaudit in a container:
#   docker build -t sovaudit . && docker run --rm sovaudit demo -o /tmp/demo
# A scan needs a resolver the container can reach: pass --resolver, or mount a sovaudit.toml
# into the working directory (/home/sovaudit) or point SOVAUDIT_CONFIG at one.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md NOTICE requirements.lock ./
COPY sovaudit ./sovaudit
# The locked, hash-checked dependencies, then sovaudit as a regular package (data files from
# package-data); then the sources go away.
RUN pip install -r requirements.lock && pip install --no-deps . \
    && cd / && rm -rf /src \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin sovaudit

# Never run as root: a scan parses untrusted DNS and HTTP data.
USER 10001:10001
WORKDIR /home/sovaudit
ENTRYPOINT ["sovaudit"]
CMD ["--help"]
