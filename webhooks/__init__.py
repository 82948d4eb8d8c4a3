"""Signed event webhooks (Standard Webhooks): a client's endpoints, the events we send them,
and every try of every delivery. See docs/webhooks.md."""
