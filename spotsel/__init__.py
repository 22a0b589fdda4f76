"""The spotsel command line: the composition root that wires collectors, store and API."""
