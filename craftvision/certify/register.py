"""The inspection register: every certified record in one SQLite file, as a hash chain.

Each row holds the signed record's bytes, a few columns copied from it for searching, the hash
of the previous row and its own hash over all of that, so editing, inserting or deleting a row
anywhere but at the end breaks the chain, and :meth:`Register.check` says where. (Compare the
head hash that ``check`` reports with a copy kept elsewhere to detect truncation too.)
Appends run in ``BEGIN IMMEDIATE`` transactions in WAL mode with a busy timeout, so several
processes can append at once without losing or reordering records. (WAL needs the writers on
one machine; SQLite's locking is not reliable over network file shares.)

The default file is ``$CRAFTVISION_REGISTER`` or ``register.sqlite`` in the platform's data
folder (``$XDG_DATA_HOME/craftvision`` or ``~/.local/share/craftvision`` on Linux).

Example:
    >>> import tempfile, pathlib
    >>> register = Register(pathlib.Path(tempfile.mkdtemp()) / "register.sqlite")
    >>> register.check().ok, len(register.list())
    (True, 0)
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from craftvision.certify.keys import public_key_bytes
from craftvision.certify.record import Record, canonical_json, utc_now, verify
from craftvision.errors import ConfigError, CraftvisionError
from craftvision.suggest import nearest_path

ENV_VAR = "CRAFTVISION_REGISTER"
GENESIS = "0" * 64
SCHEMA_VERSION = "1"
_COLUMNS = (
    "seq",
    "record_id",
    "label_id",
    "lab",
    "operator",
    "created",
    "verdict",
    "record_sha256",
    "prev_hash",
    "appended",
)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS records (
        seq INTEGER PRIMARY KEY,
        record_id TEXT NOT NULL UNIQUE,
        label_id TEXT NOT NULL,
        lab TEXT NOT NULL,
        operator TEXT NOT NULL,
        created TEXT NOT NULL,
        verdict TEXT NOT NULL,
        record BLOB NOT NULL,
        record_sha256 TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        appended TEXT NOT NULL,
        row_hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS records_label ON records (label_id)",
    "CREATE INDEX IF NOT EXISTS records_created ON records (created)",
)


class RegisterError(CraftvisionError):
    """The register file cannot be opened or written, or a record cannot be appended."""


def default_register_path() -> Path:
    """``$CRAFTVISION_REGISTER``, else ``register.sqlite`` in the platform's data folder."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "craftvision" / "register.sqlite"


@dataclass(frozen=True)
class Entry:
    """One register row, without the record bytes."""

    seq: int
    record_id: str
    label_id: str
    lab: str
    operator: str
    created: str
    verdict: str
    record_sha256: str
    prev_hash: str
    appended: str
    row_hash: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def row_hash(fields: dict[str, Any]) -> str:
    """The hash a row stores: SHA-256 of the canonical JSON of its chained columns.

    Example:
        >>> len(row_hash({name: "" for name in _COLUMNS}))
        64
    """
    return hashlib.sha256(canonical_json({name: fields[name] for name in _COLUMNS})).hexdigest()


@dataclass(frozen=True)
class RegisterCheck:
    """The outcome of :meth:`Register.check`: rows checked, problems found, the head hash."""

    path: str
    rows: int
    problems: list[str]
    head: str

    @property
    def ok(self) -> bool:
        """True if the chain and every signature hold."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {**asdict(self), "ok": self.ok}


def _since(value: str) -> str:
    """An ISO date or time as the register's ``YYYY-MM-DDTHH:MM:SSZ`` UTC form."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise ConfigError(
            f"--since {value!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS"
        ) from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Register:
    """An inspection register in the SQLite file ``path`` (created on first use).

    Args:
        path: the file; default :func:`default_register_path`.
        timeout: seconds a writer waits for another one to finish before giving up.
        create: create the file if it is missing; False (for reading: list, show, check)
            refuses a missing file instead, and leaves the schema as it is.

    Example:
        >>> register = Register("register.sqlite")                 # doctest: +SKIP
        >>> entry = register.append(record)                        # doctest: +SKIP
        >>> [e.record_id for e in register.list(label="JK-PSH-1")] # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        timeout: float = 60.0,
        create: bool = True,
    ) -> None:
        self.path = Path(path) if path is not None else default_register_path()
        self.timeout = timeout
        self._create = create
        self._local = threading.local()
        if self.path.is_dir():
            raise RegisterError(f"{self.path}: is a folder, not a register file")
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise RegisterError(f"{self.path}: cannot create its folder ({err})") from err
        elif not self.path.exists():
            raise RegisterError(
                f"{self.path}: no such register file (certifying a record into it creates it)."
                f"{nearest_path(self.path)}"
            )
        with self._transaction(write=create) as con:
            if create:
                for statement in _SCHEMA:
                    con.execute(statement)
                con.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                    (SCHEMA_VERSION,),
                )
            tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master")}
            schema = (
                con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if "meta" in tables
                else None
            )
        if schema is None:
            raise RegisterError(f"{self.path}: not a craftvision register (no schema version)")
        if schema[0] != SCHEMA_VERSION:
            raise RegisterError(
                f"{self.path}: register schema version {schema[0]} is not supported "
                f"(this craftvision writes version {SCHEMA_VERSION})"
            )

    def __repr__(self) -> str:
        return f"Register({str(self.path)!r})"

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again after a fork)."""
        cached = getattr(self._local, "connection", None)
        if cached is not None and cached[0] == os.getpid():
            return cached[1]
        try:
            con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if self._create:  # a register is created in WAL mode; a reader leaves files as they are
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as err:
            raise RegisterError(f"{self.path}: cannot open the register ({err})") from err
        self._local.connection = (os.getpid(), con)
        return con

    def close(self) -> None:
        """Close this thread's connection (it reopens on the next call)."""
        cached = getattr(self._local, "connection", None)
        self._local.connection = None
        if cached is not None and cached[0] == os.getpid():
            cached[1].close()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        con = self._connection()
        try:
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        except sqlite3.DatabaseError as err:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise RegisterError(f"{self.path}: {err}") from err

    def append(self, record: Record) -> Entry:
        """Append a signed record at the end of the chain and return its row.

        The record must verify against its own embedded key; a record id already in the
        register is refused.
        """
        result = verify(record)
        if not result.ok:
            problems = "; ".join(check.detail for check in result.failures)
            raise RegisterError(f"record {record.data.get('record_id')}: refused ({problems})")
        raw = record.to_bytes()
        with self._transaction(write=True) as con:
            if con.execute(
                "SELECT 1 FROM records WHERE record_id = ?", (record.record_id,)
            ).fetchone():
                raise RegisterError(
                    f"{self.path}: record {record.record_id} is already in the register"
                )
            last = con.execute(
                "SELECT seq, row_hash FROM records ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            fields = {
                "seq": (last[0] + 1) if last else 1,
                "record_id": record.record_id,
                "label_id": record.label_id,
                "lab": record.data["lab"],
                "operator": record.data["operator"],
                "created": record.created,
                "verdict": record.verdict,
                "record_sha256": hashlib.sha256(raw).hexdigest(),
                "prev_hash": last[1] if last else GENESIS,
                "appended": utc_now(),
            }
            fields["row_hash"] = row_hash(fields)
            con.execute(
                f"INSERT INTO records ({', '.join(fields)}, record) "
                f"VALUES ({', '.join('?' * (len(fields) + 1))})",
                (*fields.values(), raw),
            )
        return Entry(**fields)

    def list(self, *, label: str | None = None, since: str | None = None) -> list[Entry]:
        """Rows in chain order, optionally only one label's and only those created at or
        after ``since`` (an ISO date or UTC time)."""
        where, params = [], []
        if label is not None:
            where.append("label_id = ?")
            params.append(label)
        if since is not None:
            where.append("created >= ?")
            params.append(_since(since))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        columns = ", ".join((*_COLUMNS, "row_hash"))
        with self._transaction(write=False) as con:
            rows = con.execute(f"SELECT {columns} FROM records{clause} ORDER BY seq", params)
            return [Entry(*row) for row in rows.fetchall()]

    def show(self, record_id: str) -> tuple[Entry, Record]:
        """The row and the record of ``record_id`` (a unique prefix of it is enough)."""
        columns = ", ".join((*_COLUMNS, "row_hash", "record"))
        prefix = record_id.strip().lower()
        with self._transaction(write=False) as con:
            rows = con.execute(
                f"SELECT {columns} FROM records WHERE substr(record_id, 1, ?) = ? LIMIT 2",
                (len(prefix), prefix),
            ).fetchall()
        if not prefix or not rows:
            raise RegisterError(f"{self.path}: no record {record_id!r} in the register")
        if len(rows) > 1:
            raise RegisterError(
                f"{self.path}: {record_id!r} matches several records; give more of the id"
            )
        *fields, raw = rows[0]
        return Entry(*fields), Record.from_bytes(raw, source=f"{self.path} row {fields[0]}")

    def check(self, *, public_keys: list[Ed25519PublicKey] | None = None) -> RegisterCheck:
        """Verify the whole chain: row order, every row's hash and link, every record's hash,
        form and signature, and that the searchable columns match the record. With
        ``public_keys``, every record must also be signed by one of them."""
        trusted = {public_key_bytes(key).hex() for key in public_keys or []}
        columns = ", ".join((*_COLUMNS, "row_hash", "record"))
        problems: list[str] = []
        previous = GENESIS
        count = 0
        with self._transaction(write=False) as con:  # one snapshot, streamed row by row
            for count, row in enumerate(
                con.execute(f"SELECT {columns} FROM records ORDER BY seq"), start=1
            ):
                *values, stored_hash, raw = row
                fields = dict(zip(_COLUMNS, values, strict=True))
                problems.extend(
                    f"row {fields['seq']}: {problem}"
                    for problem in _row_problems(fields, stored_hash, raw, count, previous, trusted)
                )
                previous = stored_hash
        return RegisterCheck(str(self.path), count, problems, previous)


def _row_problems(
    fields: dict[str, Any],
    stored_hash: Any,
    raw: Any,
    index: int,
    previous: str,
    trusted: set[str],
) -> list[str]:
    problems = []
    if fields["seq"] != index:
        problems.append(f"expected row {index} here: a row was removed or inserted")
    if fields["prev_hash"] != previous:
        problems.append("does not link to the previous row's hash: the chain is broken")
    if stored_hash != row_hash(fields):
        problems.append("its hash does not match its content: the row was altered")
    if not isinstance(raw, bytes):
        return [*problems, "the record is not stored as bytes: the row was altered"]
    if hashlib.sha256(raw).hexdigest() != fields["record_sha256"]:
        problems.append("the record's SHA-256 does not match: the record was altered")
    result = verify(raw)
    problems.extend(f"record {check.name}: {check.detail}" for check in result.failures)
    if not result.ok or result.record is None:
        return problems
    record = result.record
    copied = {
        "record_id": record.record_id,
        "label_id": record.label_id,
        "lab": record.data["lab"],
        "operator": record.data["operator"],
        "created": record.created,
        "verdict": record.verdict,
    }
    problems.extend(
        f"column {name} {fields[name]!r} differs from the record's {value!r}"
        for name, value in copied.items()
        if fields[name] != value
    )
    if trusted and record.data["signature"].get("public_key") not in trusted:
        problems.append(
            f"signed by key {record.data['signature'].get('key_id')}, not a trusted key"
        )
    return problems


__all__ = [
    "ENV_VAR",
    "Entry",
    "Register",
    "RegisterCheck",
    "RegisterError",
    "default_register_path",
]
