"""The API's tenant tables (each client's schema): answers kept for Idempotency-Key retries."""
