"""Switchboard settings: one module, driven by the environment (12-factor).

Every knob is listed in docs/configuration.md. Development defaults are
safe for a laptop; production sets DEBUG=0, SECRET_KEY, PLATFORM_DOMAIN, PUBLIC_BASE_URL,
DATABASE_URL, REDIS_URL and the Twilio and email settings.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from switchboard import embedded

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    return os.getenv(name, default).lower() in ("1", "true", "yes", "on")


def envint(name: str, default: str) -> int:
    return int(os.getenv(name, default))


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


TESTING = envbool("SWITCHBOARD_TESTING", "0")
DEBUG = envbool("DEBUG", "1")
SECRET_KEY = os.getenv("SECRET_KEY", "dev-only-insecure-key-change-me-in-production")

# --- Hosts -------------------------------------------------------------------------
# The platform host serves staff, agents, the admin and Twilio's webhooks; each client's
# portal lives on <slug>.<PLATFORM_DOMAIN>. In development `localhost` works because
# browsers resolve *.localhost to 127.0.0.1.
PLATFORM_DOMAIN = os.getenv("PLATFORM_DOMAIN", "localhost")
PLATFORM_HOSTS = [PLATFORM_DOMAIN, *envlist("PLATFORM_EXTRA_HOSTS", "127.0.0.1")]
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS") or [*PLATFORM_HOSTS, f".{PLATFORM_DOMAIN}"]
if TESTING:
    ALLOWED_HOSTS.append("testserver")
# The public URL Twilio calls (scheme, host, port): webhook signatures are checked
# against it, so they validate behind a TLS-terminating proxy.
PUBLIC_BASE_URL = os.getenv("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
if envbool("BEHIND_TLS_PROXY", "0"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    if not DEBUG:
        # HSTS: browsers that met the site over TLS never try plain HTTP again. Not with
        # DEBUG on: a developer's TLS tunnel must not pin a name to HTTPS for a year.
        # Client hosts are subdomains of PLATFORM_DOMAIN and served the same way, hence
        # includeSubDomains; preload is a deliberate step (hstspreload), off unless asked.
        SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", "31536000")
        SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HSTS_INCLUDE_SUBDOMAINS", "1")
        SECURE_HSTS_PRELOAD = envbool("HSTS_PRELOAD", "0")

# --- Apps --------------------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "answering.acd",  # the ACD's live tables: calls in flight, agents' presence
    "compliance.platform",  # the compliance data that spans clients: registry, platform DNC, rules
    "billing.platform",  # billing plans, which client is on which, billing runs
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the API documentation page's scripts, served from /static/
    "api",  # API keys: per client, looked up before the schema matters, revoked by platform admins
]
# Everything that belongs to one client lives in that client's schema.
TENANT_APPS = [
    "django.contrib.contenttypes",
    # The admin's log too: ids repeat in every schema, so each client's history (and
    # "recent actions") is kept beside its data; the platform's own stays in public.
    "django.contrib.admin",
    "answering",
    "campaigns",
    "compliance",
    "calendars",
    "billing",  # statements, each item traced to its call record
    "api.data",  # the API's Idempotency-Key answers, beside the data they changed
    "webhooks",  # signed event webhooks: endpoints, events, deliveries (docs/webhooks.md)
    "reports",  # the reports' cache of closed days, beside the records it counts (docs/reports.md)
]
# Apps with no models of their own: pages over the apps above.
PAGE_APPS = ["portal"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS] + PAGE_APPS

TENANT_MODEL = "tenants.Client"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New clients are cloned from this migrated template schema instead of replaying every
# migration (`setup_platform` keeps it current); see tenants/services.py.
TENANT_BASE_SCHEMA = "template_client"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Issue SET search_path only when the schema changes, not before every query: a webhook
# moves between the public and a client's schema many times and each SET is a round trip.
TENANT_LIMIT_SET_CALLS = True
AUTH_USER_MODEL = "tenants.User"

MIDDLEWARE = [
    # First, so every response carries the policy, those of the middleware below too.
    "switchboard.csp.ContentSecurityPolicyMiddleware",
    "tenants.middleware.ClientHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Sync-only (it reads request.user, a database lookup), so last: under ASGI the chain
    # then switches from the event loop to a thread once, not once per side of it.
    "tenants.middleware.HostMembershipMiddleware",
]

ROOT_URLCONF = "switchboard.urls_client"
PUBLIC_SCHEMA_URLCONF = "switchboard.urls_platform"
ASGI_APPLICATION = "switchboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "loaders": [
                ("django.template.loaders.cached.Loader", [
                    "django.template.loaders.filesystem.Loader",
                    "switchboard.template_loaders.Loader",  # the apps' templates, see its docstring
                ]),
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.site",
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- Data --------------------------------------------------------------------------
_EMBEDDED = Path(os.getenv("SWITCHBOARD_VAR", BASE_DIR / "var")).resolve()


def _embedded_port(name: str, default: int) -> int:
    """The port `make run` chose for its embedded server (remembered under var/), so
    `python manage.py ...` in a second terminal reaches the same servers."""
    try:
        return int((_EMBEDDED / f"{name}.port").read_text().strip())
    except (OSError, ValueError):
        return default


DATABASE_URL = os.getenv("DATABASE_URL") or embedded.pg_url(_EMBEDDED / "postgres", _embedded_port("postgres", 55432))
# Under ASGI every HTTP request runs its sync code on a thread of its own, so a persistent
# connection (CONN_MAX_AGE) is never reused there: each request would start a PostgreSQL
# backend with cold caches. The ASGI server therefore lends connections from a pool per
# process (`switchboard/asgi.py` turns it on; django-tenants re-sets search_path for each
# borrower). WSGI workers (`switchboard/wsgi.py`) keep theirs open between requests,
# checked before reuse; Celery's forked workers too (switchboard/celery.py).
DB_POOL_SIZE = envint("DB_POOL_SIZE", "0")
DATABASES = {"default": dj_database_url.parse(
    DATABASE_URL, conn_max_age=0 if DB_POOL_SIZE else envint("DB_CONN_MAX_AGE", "0"), conn_health_checks=True)}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
# A database that is down must be given up on fast: a caller hears silence while a webhook
# waits (Twilio itself gives up after 15 s). Connecting waits at most DB_CONNECT_TIMEOUT s
# (psycopg's floor is 2: a 1 reads as 2), borrowing from the pool DB_POOL_TIMEOUT s; after a
# failure the first webhook answers with the fallback's voicemail at once, for
# DB_OUTAGE_RECHECK_SECONDS, while one background attempt at a time checks whether the
# database is back (switchboard/db.py).
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = envint("DB_CONNECT_TIMEOUT", "2")
if DB_POOL_SIZE:
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 2, "max_size": DB_POOL_SIZE,
                                               "timeout": float(os.getenv("DB_POOL_TIMEOUT", "0.5"))}
DB_OUTAGE_RECHECK_SECONDS = float(os.getenv("DB_OUTAGE_RECHECK_SECONDS", "1"))
# Voicemails the fallback took while the database was down wait here, one file each, until
# a web process of this host finds the database back and stores them (answering/flow/outage.py).
# Under test each process has a spool of its own (never `make run`'s), and stores nothing by
# itself: a thread committing rows would cross the tests' transactions (tests turn it on).
VOICEMAIL_SPOOL_DIR = Path(os.getenv("VOICEMAIL_SPOOL_DIR") or (
    Path("/tmp") / f"switchboard-test-spool-{os.getpid()}" if TESTING else _EMBEDDED / "voicemail-spool"))
VOICEMAIL_SPOOL_STORE = envbool("VOICEMAIL_SPOOL_STORE", "0" if TESTING else "1")
# Several suites can share one server (two terminals, or helpers): each names its own.
DATABASES["default"]["TEST"] = {"NAME": os.getenv("TEST_DATABASE_NAME", "test_switchboard")}
# The first webhook of each call, and the compliance gate's facts query and ledger INSERT,
# run as prepared statements (switchboard/db.py, the one way to prepare). Set 0 behind a
# pooler that cannot keep them: PgBouncer before 1.22, or without max_prepared_statements.
DB_PREPARED_STATEMENTS = envbool("DB_PREPARED_STATEMENTS", "1")
# A call's first webhook, when it leaves the caller in the menu, commits without waiting for
# the disk (answering.acd.services.call_arrive says why that loses nothing). 1: wait anyway.
ARRIVAL_SYNCHRONOUS_COMMIT = envbool("ARRIVAL_SYNCHRONOUS_COMMIT", "0")
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.getenv("REDIS_URL", f"redis://127.0.0.1:{_embedded_port('redis', 56379)}/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Keys carry the schema so one client's cached data never answers another's.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}
# Pushes to browsers go through Redis pub/sub: a push to a group is one PUBLISH that each
# web process receives once and hands to its own consoles, in memory. (The list-based
# RedisChannelLayer writes one entry per console and reads them back one round trip each:
# with 200 consoles a queue change queued ahead of the next offer and doubled its p99 —
# see docs/figures.md.) Pushes are live updates only — a console that reconnects gets
# a full snapshot — so pub/sub's at-most-once delivery is what they need.
# The prefix names the Redis database: pub/sub channels are shared by all of a server's
# databases, and two deployments (or a test run beside `make run`) must not hear each other.
CHANNELS_LAYER = os.getenv("CHANNELS_LAYER", "pubsub")
_CHANNELS_PREFIX = os.getenv("CHANNELS_PREFIX", "switchboard")
if CHANNELS_LAYER == "pubsub":
    CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL}],
                   "prefix": f"{_CHANNELS_PREFIX}:{urlsplit(REDIS_URL).path.strip('/') or '0'}:"},
    }}
else:
    CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 reads with a 5 s socket timeout by default, exactly as long as the
        # layer's blocking BZPOPMIN waits: a quiet console would crash after 5 s.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "prefix": _CHANNELS_PREFIX},
    }}

# --- Celery ------------------------------------------------------------------------
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = os.getenv("CELERY_QUEUE", "switchboard")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers unacknowledged tasks after this; longer than any task or countdown.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", "3600")}
# A worker never gives up on Redis: it retries at start (a worker restarted while Redis is
# still down) and after a loss, without the default limit of 100 attempts. (The crash on a
# Redis restart itself is fixed in switchboard/celery.py.)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TIMEZONE = "UTC"
# tenant-schemas-celery looks the client up for every task; a client row changes rarely,
# and a task only needs its schema name and time zone.
CELERY_TASK_TENANT_CACHE_SECONDS = envint("CELERY_TENANT_CACHE_SECONDS", "30")
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "0")
CELERY_BEAT_SCHEDULE = {
    "acd-sweep": {"task": "answering.tasks.acd_sweep", "schedule": float(os.getenv("ACD_SWEEP_SECONDS", "5"))},
    "outbox-sweep": {"task": "answering.tasks.outbox_sweep", "schedule": float(os.getenv("OUTBOX_SWEEP_SECONDS", "5"))},
    "twilio-requests-prune": {"task": "answering.tasks.twilio_requests_prune", "schedule": 3600.0},
    "call-sessions-prune": {"task": "answering.tasks.call_sessions_prune", "schedule": 3600.0},
    "dialer-tick": {"task": "campaigns.tasks.dialer_tick", "schedule": float(os.getenv("DIALER_TICK_SECONDS", "1"))},
    "dialer-sweep": {"task": "campaigns.tasks.dialer_sweep", "schedule": float(os.getenv("DIALER_SWEEP_SECONDS", "15"))},
    "calendar-holds-expire": {"task": "calendars.tasks.holds_expire", "schedule": 60.0},
    # Each calendar's own feed is read every CALENDAR_BUSY_IMPORT_MINUTES; the beat only looks for due ones.
    "calendar-busy-import": {"task": "calendars.tasks.busy_imports_due", "schedule": 60.0},
    "api-idempotency-prune": {"task": "api.tasks.idempotency_prune", "schedule": 3600.0},
}

# --- Auth --------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    # Hashing is the slowest part of building the test world; strength is not tested.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_NAME = "switchboard_session"
# Guessing passwords (tenants/throttle.py, counters in Redis shared by every process): this
# many failures within the window lock the account, or the address, for LOGIN_LOCKOUT_SECONDS,
# doubling with each lockout within a day up to the maximum; a lock refuses even the right
# password. A login resets the account's count.
LOGIN_FAILURES_PER_ACCOUNT = envint("LOGIN_FAILURES_PER_ACCOUNT", "5")
LOGIN_FAILURES_PER_ADDRESS = envint("LOGIN_FAILURES_PER_ADDRESS", "30")
LOGIN_FAILURE_WINDOW_SECONDS = envint("LOGIN_FAILURE_WINDOW_SECONDS", "900")
LOGIN_LOCKOUT_SECONDS = envint("LOGIN_LOCKOUT_SECONDS", "300")
LOGIN_LOCKOUT_MAX_SECONDS = envint("LOGIN_LOCKOUT_MAX_SECONDS", "3600")
# Reset emails: at most one per interval and so many an hour per account, so many an hour per address.
PASSWORD_RESET_INTERVAL_SECONDS = envint("PASSWORD_RESET_INTERVAL_SECONDS", "300")
PASSWORD_RESET_EMAILS_PER_HOUR = envint("PASSWORD_RESET_EMAILS_PER_HOUR", "3")
PASSWORD_RESET_EMAILS_PER_ADDRESS_PER_HOUR = envint("PASSWORD_RESET_EMAILS_PER_ADDRESS_PER_HOUR", "20")
# The caller's address is the connection's; behind N proxies that each append to
# X-Forwarded-For, the N-th address from its right (the left part is the caller's to forge).
CLIENT_IP_PROXY_COUNT = envint("CLIENT_IP_PROXY_COUNT", "0")
# /healthz tells everyone each component's status; timings and error text go to platform
# staff and to a caller presenting this token (Authorization: Bearer …, or ?token=). Empty: staff only.
HEALTHZ_TOKEN = os.getenv("HEALTHZ_TOKEN", "")

# --- Email -------------------------------------------------------------------------
# Development writes mail to var/mail/ (the run command prints where to look).
# How long a worker holds a delivery while sending it; if it dies, another takes it after.
DELIVERY_LEASE_SECONDS = envint("DELIVERY_LEASE_SECONDS", "60")
EMAIL_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = os.getenv("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "0")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "Switchboard <noreply@switchboard.localhost>")

# --- Twilio ------------------------------------------------------------------------
TWILIO_ACCOUNT_SID = os.getenv("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.getenv("TWILIO_AUTH_TOKEN", "")
TWILIO_API_BASE_URL = os.getenv("TWILIO_API_BASE_URL", "")
# The agent's browser phone (Twilio Voice SDK): an API key and the TwiML app it dials out through.
TWILIO_API_KEY_SID = os.getenv("TWILIO_API_KEY_SID", "")
TWILIO_API_KEY_SECRET = os.getenv("TWILIO_API_KEY_SECRET", "")
TWILIO_TWIML_APP_SID = os.getenv("TWILIO_TWIML_APP_SID", "")

# How a call reaches an agent: "live" uses Twilio's REST API (needs the credentials);
# "simulate" hands the same commands to the call simulator (development, tests).
TWILIO_MODE = os.getenv("TWILIO_MODE", "live" if TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN else "simulate")
# In simulation the simulator signs its webhooks with a token derived from SECRET_KEY, so
# signatures are checked exactly as in production.
if TWILIO_MODE == "simulate" and not TWILIO_AUTH_TOKEN:
    TWILIO_AUTH_TOKEN = hashlib.sha256(f"simulator:{SECRET_KEY}".encode()).hexdigest()[:32]
    TWILIO_ACCOUNT_SID = TWILIO_ACCOUNT_SID or "AC" + "0" * 32

# --- ACD -----------------------------------------------------------------------------
ACD_OFFER_TIMEOUT_SECONDS = envint("ACD_OFFER_TIMEOUT_SECONDS", "15")
ACD_MISSED_OFFERS_BEFORE_AWAY = envint("ACD_MISSED_OFFERS_BEFORE_AWAY", "3")
# A call an agent declined or missed is not offered to that agent again for this long, and
# after it only when nobody else can take it.
ACD_REOFFER_PAUSE_SECONDS = envint("ACD_REOFFER_PAUSE_SECONDS", "20")

# --- The dialer (campaigns/services/dialer.py) ---------------------------------------------
# How often the beat ticks every running campaign, and how often the sweep settles attempts
# a crash left pending. Calls per second: Twilio's default limit per account (it queues
# calls beyond it, and a call answered late is abandoned); an account with a raised limit
# is listed as "ACxxx=5,ACyyy=2" (subaccounts have their own limit, not shared).
DIALER_TICK_SECONDS = float(os.getenv("DIALER_TICK_SECONDS", "1"))
DIALER_SWEEP_SECONDS = float(os.getenv("DIALER_SWEEP_SECONDS", "15"))
DIALER_CALLS_PER_SECOND = float(os.getenv("DIALER_CALLS_PER_SECOND", "1"))
DIALER_CALLS_PER_SECOND_BY_ACCOUNT = {
    sid.strip(): float(rate) for sid, _, rate in
    (item.partition("=") for item in os.getenv("DIALER_CALLS_PER_SECOND_BY_ACCOUNT", "").split(",") if "=" in item)
}
ACD_SWEEP_SECONDS = envint("ACD_SWEEP_SECONDS", "5")
# Ended calls stay in the live table this long (late recording and status callbacks find
# them), then an hourly task deletes them; each client's call record keeps the call.
ACD_SESSION_RETENTION_DAYS = envint("ACD_SESSION_RETENTION_DAYS", "7")
# An agent whose console is gone this long is away, and a pending offer moves on.
CONSOLE_GRACE_SECONDS = envint("CONSOLE_GRACE_SECONDS", "10")
# A client's queue panel is pushed to every console at most once per this many ms (the
# state at the end of the window): a call queued, offered and accepted is one redraw, not
# three, on each of hundreds of consoles. Offers never wait: they go at once. 0: every change
# at once, the default under test, where most tests roll back what a later push would read.
LIVE_COALESCE_MS = envint("LIVE_COALESCE_MS", "0" if TESTING else "200")
# Each process keeps every client's call flow and the number → client map, and asks Redis
# whether they changed at most once per this many ms (per client): a change in the admin
# reaches every process's callers within it, and a busy process makes no Redis round trip
# per call. 0: ask on every call (the default under test, where one process edits a flow
# and another answers at once).
FLOW_CACHE_CHECK_MS = envint("FLOW_CACHE_CHECK_MS", "0" if TESTING else "1000")

# --- Calendars -----------------------------------------------------------------------
# How often each calendar's busy times are read again from the client's own ICS feed.
CALENDAR_BUSY_IMPORT_MINUTES = envint("CALENDAR_BUSY_IMPORT_MINUTES", "15")

# --- API ---------------------------------------------------------------------------
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "VERSION": "1.0.0",
    "DESCRIPTION": "Your messages, calls, appointments, contacts and campaigns, do-not-call list and consents, "
                   "on-call schedule and webhook endpoints, on your own host. "
                   "Authenticate with `Authorization: Bearer sb_…` (a key from the portal's API keys page). "
                   "Errors are RFC 9457 problem details. See docs/api.md.",
    "SERVE_INCLUDE_SCHEMA": False,
    # The documentation page's Swagger UI comes from the drf-spectacular-sidecar package, served
    # from our /static/: the page fetches nothing from another host (the CSP would refuse it).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}
# Requests per minute a key, and a client's keys together, may make (fixed windows counted in
# Redis, shared by every process: api/ratelimit.py). Over it: 429 with Retry-After.
API_RATE_PER_KEY_PER_MINUTE = envint("API_RATE_PER_KEY_PER_MINUTE", "600")
API_RATE_PER_CLIENT_PER_MINUTE = envint("API_RATE_PER_CLIENT_PER_MINUTE", "1200")
# Key rows cached per process, checked against a Redis generation every request (api/auth.py).
# 0 in tests: some tests edit a key's row directly, which only a revocation's bump announces.
API_KEY_CACHE_SECONDS = envint("API_KEY_CACHE_SECONDS", "0" if TESTING else "30")
# What calls to the API may make the platform spend, per client per hour (api/spend.py): texts
# sent and calls placed because of an API request (booking confirmations, campaign starts).
# SMS and call pumping is how such APIs are abused.
API_SPEND_TEXTS_PER_HOUR = envint("API_SPEND_TEXTS_PER_HOUR", "500")
API_SPEND_CALLS_PER_HOUR = envint("API_SPEND_CALLS_PER_HOUR", "200")
# How long answers to Idempotency-Key requests are kept (an hourly task deletes older ones).
API_IDEMPOTENCY_HOURS = envint("API_IDEMPOTENCY_HOURS", "24")

# --- Event webhooks (webhooks/) -------------------------------------------------------
# Requests to URLs a client chose (event webhooks, calendars' busy-time feeds) refuse private,
# loopback, link-local, multicast and reserved addresses (switchboard/outbound.py: nothing may
# reach into our own network); development and tests allow them.
OUTBOUND_ALLOW_PRIVATE = envbool("OUTBOUND_ALLOW_PRIVATE", "1" if DEBUG or TESTING else "0")
# An endpoint failing for this long with no success in between is disabled, with an alert.
WEBHOOK_DISABLE_AFTER_DAYS = envint("WEBHOOK_DISABLE_AFTER_DAYS", "5")

# --- Internationalisation, static files, logging -------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Beat's sweeps run every few seconds: one line per task received, done and sent
        # would bury what the tasks themselves say (the simulated texts and call-outs, errors).
        # CELERY_TASK_LOG_LEVEL=INFO brings those lines back.
        **{name: {"level": os.getenv("CELERY_TASK_LOG_LEVEL", "WARNING")}
           for name in ("celery.app.trace", "celery.worker.strategy", "celery.beat")},
    },
}
