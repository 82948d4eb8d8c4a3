"""Slowing down password guessing and reset-email floods, by account and by address.

The counters are Redis keys changed by Lua scripts, so they are atomic and shared by every
web process. A login refused while locked is refused before the password is checked, so
the right password does not open a locked account; an unknown account is counted and
locked exactly like a real one, so the answers tell nothing about which accounts exist.
Accounts are keyed by a digest of the lowercased email (login is case-insensitive), so
Redis holds no addresses of people.

When Redis cannot be reached the throttle lets the attempt through and logs an error:
agents must be able to log in and answer calls during a Redis blip, and the password
check itself still applies.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math

import redis
from django.conf import settings
from django.http import HttpRequest

from switchboard.redis_clients import redis_client

logger = logging.getLogger(__name__)

PREFIX = "switchboard:throttle:"
# Each lockout within this long doubles the next one (up to LOGIN_LOCKOUT_MAX_SECONDS).
LOCKOUT_MEMORY_SECONDS = 24 * 3600

# KEYS: failures, lock, lockouts. ARGV: limit, window, first lock, longest lock, memory.
# Returns the lock's seconds when this failure reached the limit, else 0.
_FAILURE_RECORD = """
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if failures < tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
local lockouts = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[5])
local seconds = math.floor(math.min(tonumber(ARGV[3]) * 2 ^ (lockouts - 1), tonumber(ARGV[4])))
redis.call('SET', KEYS[2], lockouts, 'EX', seconds)
return seconds
"""

# KEYS: the account's "sent recently" mark, its hourly count, the address's hourly count.
# ARGV: interval, account's hourly limit, address's hourly limit. Returns why it is
# withheld, or "ok" (and counts the email).
_RESET_ALLOW = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'sent less than PASSWORD_RESET_INTERVAL_SECONDS ago' end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then
  return 'PASSWORD_RESET_EMAILS_PER_HOUR reached for the account' end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[3]) then
  return 'PASSWORD_RESET_EMAILS_PER_ADDRESS_PER_HOUR reached for the address' end
if tonumber(ARGV[1]) > 0 then redis.call('SET', KEYS[1], 1, 'EX', ARGV[1]) end
for i = 2, 3 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], 3600) end
end
return 'ok'
"""


def _redis() -> redis.Redis:
    return redis_client(timeout=0.5)  # a login waits at most this long on a Redis blip


def _account(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _login_keys(kind: str, ident: str) -> list[str]:
    base = f"{PREFIX}login:{kind}:{ident}"
    return [f"{base}:failures", f"{base}:lock", f"{base}:lockouts"]


def client_address(request: HttpRequest) -> str:
    """The caller's IP address: the connection's, or with ``CLIENT_IP_PROXY_COUNT`` proxies in
    front, the address the outermost of ours saw, read from the right of X-Forwarded-For
    (what a caller puts on the left is theirs to forge)."""
    proxies = settings.CLIENT_IP_PROXY_COUNT
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies and _is_ip(hops[-proxies]):
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def login_lock_remaining(*, username: str, address: str) -> int:
    """Seconds until this account and this address may try again (0: they may now)."""
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.ttl(_login_keys("account", _account(username))[1])
        pipe.ttl(_login_keys("address", address)[1])
        account_left, address_left = pipe.execute()
    except redis.RedisError as exc:
        logger.error("login throttle unavailable, not checked (Redis: %s)", exc)
        return 0
    left = max(0, account_left, address_left)
    if left:
        logger.info("login refused, locked: account=%r address=%s (seconds left: account %s, address %s)",
                    username, address, max(0, account_left), max(0, address_left))
    return left


def login_failure_record(*, username: str, address: str) -> int:
    """Count a failed login; returns the seconds of the lock it started, or 0."""
    common = [settings.LOGIN_FAILURE_WINDOW_SECONDS, settings.LOGIN_LOCKOUT_SECONDS,
              settings.LOGIN_LOCKOUT_MAX_SECONDS, LOCKOUT_MEMORY_SECONDS]
    try:
        script = _redis().register_script(_FAILURE_RECORD)
        account_lock = script(keys=_login_keys("account", _account(username)),
                              args=[settings.LOGIN_FAILURES_PER_ACCOUNT, *common])
        address_lock = script(keys=_login_keys("address", address),
                              args=[settings.LOGIN_FAILURES_PER_ADDRESS, *common])
    except redis.RedisError as exc:
        logger.error("login throttle unavailable, failure not counted (Redis: %s)", exc)
        return 0
    if account_lock:
        logger.warning("login locked: account=%r address=%s for %ss after %s failures",
                       username, address, account_lock, settings.LOGIN_FAILURES_PER_ACCOUNT)
    if address_lock:
        logger.warning("login locked: address=%s (last account tried %r) for %ss after %s failures",
                       address, username, address_lock, settings.LOGIN_FAILURES_PER_ADDRESS)
    if not (account_lock or address_lock):
        logger.info("login failed: account=%r address=%s", username, address)
    return max(account_lock, address_lock)


def login_success_record(*, username: str) -> None:
    """A login succeeded: the account starts afresh. The address's count stays, or an attacker
    could clear it by logging in to an account of their own between guesses."""
    keys = _login_keys("account", _account(username))
    try:
        _redis().delete(keys[0], keys[2])
    except redis.RedisError as exc:
        logger.error("login throttle unavailable, counter not reset (Redis: %s)", exc)


def login_account_unlock(*, username: str) -> None:
    """The account's owner proved they read its email (a password reset): lift its lock."""
    try:
        _redis().delete(*_login_keys("account", _account(username)))
    except redis.RedisError as exc:
        logger.error("login throttle unavailable, account not unlocked (Redis: %s)", exc)
        return
    logger.info("login unlocked by a password reset: account=%r", username)


def login_locked_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many failed attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}."


def password_reset_allow(*, user_id: int, email: str, address: str) -> bool:
    """May this account be sent a reset email now? Counts it when so."""
    keys = [f"{PREFIX}reset:account:{user_id}:recent", f"{PREFIX}reset:account:{user_id}:hour",
            f"{PREFIX}reset:address:{address}:hour"]
    args = [settings.PASSWORD_RESET_INTERVAL_SECONDS, settings.PASSWORD_RESET_EMAILS_PER_HOUR,
            settings.PASSWORD_RESET_EMAILS_PER_ADDRESS_PER_HOUR]
    try:
        verdict = _redis().register_script(_RESET_ALLOW)(keys=keys, args=args).decode()
    except redis.RedisError as exc:
        logger.error("password reset throttle unavailable, not checked (Redis: %s)", exc)
        return True
    if verdict != "ok":
        logger.warning("password reset withheld: account=%r address=%s (%s)", email, address, verdict)
        return False
    return True
