FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY selector selector
COPY collectors collectors
COPY api api
COPY core core
COPY spotsel spotsel
COPY migrations migrations
RUN pip install --no-cache-dir .
RUN useradd --create-home spotsel
USER spotsel
CMD ["spotsel", "--help"]
