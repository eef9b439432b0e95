"""A throwaway PostgreSQL server for the test run, started from Debian's binaries."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    # Stops the server (fast shutdown: every connection is cut) and starts it again.
    restart: Callable[[], None] = field(default=lambda: None, compare=False)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"


def find_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_postgres(bin_dir: Path) -> Iterator[PostgresServer]:
    """initdb in a temporary directory and start a server on a free loopback port.

    initdb refuses to run as root, so as root the server runs as the `postgres` user.
    """
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    workdir = Path(tempfile.mkdtemp(prefix="companion-pg-"))
    data = workdir / "data"
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    log_path = workdir / "server.log"
    log_file = log_path.open("wb")

    def start() -> subprocess.Popen[bytes]:
        server = subprocess.Popen(
            [
                *prefix,
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={workdir}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"],
                check=False,
            )
            if ready.returncode == 0:
                return server
            if server.poll() is not None or time.monotonic() > deadline:
                log = log_path.read_text(errors="replace")
                raise RuntimeError(f"PostgreSQL did not start: {log[-2000:]}")
            time.sleep(0.1)

    running = [start()]

    def restart() -> None:
        # Fast shutdown: every connection is cut, as in a failover or a crash-restart.
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w"],
            check=True,
            capture_output=True,
        )
        running[0].wait(timeout=30)
        running[0] = start()

    try:
        yield PostgresServer("127.0.0.1", port, "postgres", restart)
    finally:
        server = running[0]
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log_file.close()
        shutil.rmtree(workdir, ignore_errors=True)
