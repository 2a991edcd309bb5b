"""The simulator's world: a real SQLite save file, written steadily, and copied on
``/genbackup`` with SQLite's backup API, as the real game keeps its ``.vcdbs``.

Each write is one transaction that keeps an invariant, so a torn copy shows: the ``ledger``
table's amounts always sum to zero (every transaction adds a pair, ``+x`` and ``-x``), and
``chunks`` holds one row per transaction number up to ``meta.tx``. Like the simulator, this
imports nothing of vsmanager.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from pathlib import Path

DEFAULT_WORLD = "default"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY, tx INTEGER NOT NULL, amount INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS chunks (tx INTEGER PRIMARY KEY, data BLOB NOT NULL)",
)


def save_path(data_dir: Path) -> Path:
    """The save ``serverconfig.json`` names (``WorldConfig.SaveFileLocation``), made if missing."""
    config_file = data_dir / "serverconfig.json"
    if not config_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        location = str(Path("Saves") / f"{DEFAULT_WORLD}.vcdbs")
        config_file.write_text(json.dumps({"WorldConfig": {"SaveFileLocation": location}}, indent=2))
    location = json.loads(config_file.read_text())["WorldConfig"]["SaveFileLocation"]
    path = Path(location)
    return path if path.is_absolute() else data_dir / path


def check_invariant(db: Path) -> tuple[int, int]:
    """(last transaction, ledger sum) of a save; raise ValueError if it is inconsistent."""
    # One statement is one read snapshot: three separate reads of a save the game is writing
    # would see different transactions and report a tear that is not there.
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute(
            "SELECT (SELECT value FROM meta WHERE key = 'tx'),"
            " (SELECT COALESCE(SUM(amount), 0) FROM ledger),"
            " (SELECT COUNT(*) FROM chunks)").fetchone()
    conn.close()
    tx, total, chunks = int(row[0] or 0), int(row[1]), int(row[2])
    if total != 0 or chunks != tx:
        raise ValueError(f"inconsistent save: tx {tx}, ledger sum {total}, chunks {chunks}")
    return tx, total


class World:
    """The save file and the thread that writes to it ``writes_per_second`` times a second."""

    def __init__(self, data_dir: Path, writes_per_second: float, chunk_bytes: int = 2048) -> None:
        self.data_dir = data_dir
        self.path = save_path(data_dir)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writes_per_second = writes_per_second
        self.chunk_bytes = chunk_bytes
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        with self._connect() as conn:
            for statement in SCHEMA:
                conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('tx', 0)")
        conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        # WAL lets /genbackup read a snapshot while the writer goes on, as the game does.
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def start(self) -> None:
        if self.writes_per_second > 0:
            self._thread = threading.Thread(target=self._write_steadily, daemon=True, name="world")
            self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        # A last connection closing checkpoints the WAL into the save: nothing left beside it.
        conn = sqlite3.connect(self.path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()

    def backup(self, name: str) -> Path:
        """A consistent copy in ``Backups/``, as ``/genbackup`` makes it."""
        if not name.endswith(".vcdbs"):
            name += ".vcdbs"
        target = self.data_dir / "Backups" / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = self._connect()
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # all pages in one step: one snapshot of one moment
        finally:
            copy.close()
            source.close()
        return target

    def _write_steadily(self) -> None:
        rng = random.Random(7)
        conn = self._connect()
        interval = 1.0 / self.writes_per_second
        next_at = time.monotonic()
        try:
            while not self.stopping.is_set():
                self._transaction(conn, rng)
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    next_at = time.monotonic()
        finally:
            conn.close()

    def _transaction(self, conn: sqlite3.Connection, rng: random.Random) -> None:
        amount = rng.randrange(1, 1000)
        with conn:  # one transaction: both ledger rows, the chunk and the counter, or none
            tx = int(conn.execute("SELECT value FROM meta WHERE key = 'tx'").fetchone()[0]) + 1
            conn.execute("INSERT INTO ledger (tx, amount) VALUES (?, ?)", (tx, amount))
            conn.execute("INSERT INTO chunks VALUES (?, ?)", (tx, rng.randbytes(self.chunk_bytes)))
            conn.execute("INSERT INTO ledger (tx, amount) VALUES (?, ?)", (tx, -amount))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'tx'", (tx,))
