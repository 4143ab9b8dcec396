"""Clients of the external systems the agent reads from and acts on: an interface and an adapter.

Each `<system>_client` module holds the small interface the core uses (a Protocol and plain
models, cheap to import); the real adapter over the system's library sits beside it and is only
imported by the block that builds it, so importing the core never pays for a client library.
"""
