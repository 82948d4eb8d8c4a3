"""The API's operations, one module per group: messages, calls, compliance, on-call.

Later groups (appointments, contacts and imports, campaigns, webhooks) add a module here
with views built on ``api.views.base.ApiView`` and their paths in api/urls_v1.py."""
