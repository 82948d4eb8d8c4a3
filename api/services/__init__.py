"""The API's verbs: keys (api/services/keys.py)."""
