"""The REST API for clients' own systems (#18): keys, scopes, problem details, limits, the groups.

``api`` (public schema) holds the keys; ``api.data`` (each client's schema) the
Idempotency-Key answers. One module per group under ``api/views/``; see docs/api.md.
"""
