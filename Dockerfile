# spotsel, installed the way a user installs it: `pip install .` (not editable), so the image runs
# the installed package and its package data (migrations, example profiles), not a source tree.
# tests/spotsel/test_packaging.py installs the same way and runs `spotsel demo --no-serve`, and
# checks that every package of pyproject.toml is copied here.
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY selector selector
COPY collectors collectors
COPY outputs outputs
COPY api api
COPY core core
COPY spotsel spotsel
COPY migrations migrations
RUN pip install --no-cache-dir . && rm -rf /src
# /var/lib/spotsel: state the containers keep on a volume (docker-compose.yml's API keys file);
# a new named volume copies this directory's owner, so the spotsel user can write to it.
RUN useradd --create-home spotsel && install -d -o spotsel -g spotsel /var/lib/spotsel
USER spotsel
WORKDIR /home/spotsel
CMD ["spotsel", "--help"]
