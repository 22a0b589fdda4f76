"""Shared infrastructure for spotsel: settings, clock, errors, database and the store.

Both `collectors` and `api` import this package; it imports neither of them (nor `selector`).
"""
