"""The interface layer: the REST service and the in-memory snapshot it ranks against."""
