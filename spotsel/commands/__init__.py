"""The commands of `spotsel`, one module per command or command group; `spotsel.cli` assembles them.

Each module imports at its top only what its options need to be declared, and the rest inside the
command, so `spotsel --help` and the quick commands do not load the API server, Alembic, the
scheduler or the output validators.
"""
