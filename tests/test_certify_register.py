"""The inspection register: a hash chain in SQLite that detects edits and survives concurrency."""

import sqlite3
import sys
from multiprocessing import get_context

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from craftvision.certify.record import RECORD_FORMAT, sign
from craftvision.certify.register import Register, RegisterError, default_register_path

KEY = Ed25519PrivateKey.generate()


def make_record(record_id, *, label="JK-PSH-1", created="2025-03-01T10:00:00Z", key=KEY):
    """A small signed record with every field a record has."""
    body = {
        "format": RECORD_FORMAT,
        "record_id": record_id,
        "label": {"id": label, "source": "id"},
        "lab": "LAB-01",
        "operator": "A. Bhat",
        "created": created,
        "images": [{"file": "fibre/a.png", "modality": "fibre", "sha256": "ab" * 32}],
        "bundles": [],
        "measurements": {"calibrated": False},
        "sample": {"verdict": "genuine", "reasons": ["fibre: genuine"]},
        "software": {"craftvision": "test"},
    }
    return sign(body, key)


@pytest.fixture
def register(tmp_path):
    book = Register(tmp_path / "register.sqlite")
    book.append(make_record("r-1", label="JK-PSH-1", created="2025-01-05T09:00:00Z"))
    book.append(make_record("r-2", label="JK-KNI-2", created="2025-02-05T09:00:00Z"))
    book.append(make_record("r-3", label="JK-PSH-1", created="2025-03-05T09:00:00Z"))
    return book


def test_append_list_show_check(register):
    entries = register.list()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1].prev_hash == entries[0].row_hash
    assert [e.record_id for e in register.list(label="JK-PSH-1")] == ["r-1", "r-3"]
    assert [e.record_id for e in register.list(since="2025-02-01")] == ["r-2", "r-3"]
    assert [e.record_id for e in register.list(label="JK-PSH-1", since="2025-02-10")] == ["r-3"]
    entry, record = register.show("r-2")
    assert (entry.seq, record.label_id) == (2, "JK-KNI-2")
    check = register.check()
    assert check.ok and check.rows == 3 and check.head == entries[-1].row_hash


def test_show_and_list_errors(register):
    with pytest.raises(RegisterError, match="matches several records"):
        register.show("r-")
    with pytest.raises(RegisterError, match="no record"):
        register.show("zzz")
    with pytest.raises(ValueError, match="not a date"):
        register.list(since="last tuesday")


def test_opening_without_create_reads_and_never_creates(register, tmp_path):
    missing = tmp_path / "elsewhere" / "register.sqlite"
    with pytest.raises(RegisterError, match="no such register file"):
        Register(missing, create=False)
    assert not missing.parent.exists()
    with Register(register.path, create=False) as reader:
        assert [e.record_id for e in reader.list()] == ["r-1", "r-2", "r-3"]
        assert reader.check().ok
    (tmp_path / "other.sqlite").write_text("")  # an empty SQLite file: not a register
    with pytest.raises(RegisterError, match="not a craftvision register"):
        Register(tmp_path / "other.sqlite", create=False)
    assert (tmp_path / "other.sqlite").stat().st_size == 0


def test_duplicate_and_tampered_records_are_refused(register):
    with pytest.raises(RegisterError, match="already in the register"):
        register.append(make_record("r-1"))
    forged = make_record("r-9")
    forged.data["sample"]["verdict"] = "imitation"
    with pytest.raises(RegisterError, match="refused"):
        register.append(forged)
    assert register.check().rows == 3


def test_trusted_keys(register):
    assert register.check(public_keys=[KEY.public_key()]).ok
    other = Ed25519PrivateKey.generate()
    register.append(make_record("r-4", key=other))
    problems = register.check(public_keys=[KEY.public_key()]).problems
    assert (
        problems == [problems[0]] and "row 4" in problems[0] and "not a trusted key" in problems[0]
    )


def _flipped(value, position):
    if isinstance(value, int):
        return value ^ 1
    data = bytearray(value.encode() if isinstance(value, str) else value)
    data[position] ^= 0x01
    return data.decode("latin-1") if isinstance(value, str) else bytes(data)


def test_flipping_any_byte_of_a_register_row_is_detected(register):
    db = sqlite3.connect(register.path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")  # the tamperer needs no durability; keeps this fast
    columns = [row[1] for row in db.execute("PRAGMA table_info(records)")]
    original = db.execute("SELECT * FROM records WHERE seq = 2").fetchone()
    flips = 0
    for column, value in zip(columns, original, strict=True):
        positions = range(1) if isinstance(value, int) else range(len(value))
        for position in positions:
            changed = _flipped(value, position)
            if column == "seq":
                changed = 7
            try:
                db.execute(f"UPDATE records SET {column} = ? WHERE rowid = 2", (changed,))
            except sqlite3.IntegrityError:  # e.g. r-2 -> r-3: a duplicate id cannot be stored
                continue
            assert not register.check().ok, f"{column} byte {position} flip undetected"
            db.execute(f"UPDATE records SET {column} = ? WHERE rowid = 7 OR rowid = 2", (value,))
            flips += 1
    assert flips > 500
    assert register.check().ok


def test_deleting_or_reordering_rows_is_detected(register):
    db = sqlite3.connect(register.path, isolation_level=None)
    db.execute("DELETE FROM records WHERE seq = 2")
    problems = register.check().problems
    assert any("removed or inserted" in p for p in problems)
    assert any("chain is broken" in p for p in problems)


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CRAFTVISION_REGISTER", str(tmp_path / "lab.sqlite"))
    assert default_register_path() == tmp_path / "lab.sqlite"
    monkeypatch.delenv("CRAFTVISION_REGISTER")
    assert default_register_path().name == "register.sqlite"


def _append_many(args):
    path, worker, count = args
    book = Register(path)
    key = Ed25519PrivateKey.generate()
    for index in range(count):
        book.append(make_record(f"w{worker}-{index:03d}", key=key))
    book.close()
    return worker


def test_eight_processes_appending_lose_nothing(tmp_path):
    path = tmp_path / "shared.sqlite"
    # Not "fork": a child forked from this multi-threaded process can inherit a held lock and
    # hang. A fork server is started clean, imports this module once, then forks the writers.
    context = get_context("forkserver" if sys.platform != "win32" else "spawn")
    if sys.platform != "win32":
        context.set_forkserver_preload([__name__])
    with context.Pool(8) as pool:
        assert pool.map(_append_many, [(path, w, 100) for w in range(8)]) == list(range(8))
    book = Register(path)
    entries = book.list()
    assert len(entries) == 800
    assert len({e.record_id for e in entries}) == 800
    assert [e.seq for e in entries] == list(range(1, 801))
    for worker in range(8):  # each writer's records keep their own order in the chain
        mine = [e.record_id for e in entries if e.record_id.startswith(f"w{worker}-")]
        assert mine == sorted(mine)
    check = book.check()
    assert check.ok, check.problems[:5]
