"""The pure parts of backups: names, retention, archive members, the space check."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime, timedelta

import pytest

from vsmanager.backups.members import HostileArchive, check_member
from vsmanager.backups.naming import archive_name, backup_id, is_archive_name, parse_time
from vsmanager.backups.retention import Kept, RetentionRules, to_delete
from vsmanager.backups.space import check_space

T0 = datetime(2026, 12, 6, 21, 37, 58, tzinfo=UTC)


def test_names_carry_world_and_utc_time() -> None:
    name = archive_name("default", T0, ".tar.zst")
    assert name == "default-20261206T213758Z.tar.zst"
    assert backup_id(name) == "default-20261206T213758Z"
    assert parse_time(name) == T0
    assert archive_name("default", T0, ".tar.zst", {name}) == "default-20261206T213758Z-2.tar.zst"
    assert is_archive_name("w-20261206T213758Z-2.tar.gz")
    assert not is_archive_name("w-20261206T213758Z.tar.zst.tmp")


def test_a_name_freed_by_retention_is_not_reused_within_its_second() -> None:
    # The first of three backups in one second was deleted: the next comes after the newest,
    # so that it also sorts after it.
    left = {"w-20261206T213758Z-2.tar.zst", "w-20261206T213758Z-3.tar.zst", "x-20261206T213758Z-9.tar.zst"}
    name = archive_name("w", T0, ".tar.zst", left)
    assert name == "w-20261206T213758Z-4.tar.zst"
    assert parse_time(name) > max(parse_time(n) for n in left if n.startswith("w-"))  # type: ignore[operator]


def _hourly(count: int, verified: bool = True) -> list[Kept]:
    return [Kept(f"b{i}", T0 - timedelta(hours=6 * i), verified) for i in range(count)]


def test_retention_keeps_last_daily_and_weekly_over_a_run() -> None:
    backups = _hourly(4 * 60)  # every 6 hours for 60 days
    deleted = set(to_delete(backups, RetentionRules(keep_last=10, keep_daily=7, keep_weekly=4)))
    kept = [b for b in backups if b.id not in deleted]
    assert {f"b{i}" for i in range(10)} <= {b.id for b in kept}
    assert len({b.time.date() for b in kept}) >= 7
    assert len({b.time.isocalendar()[:2] for b in kept}) == 4
    assert len(kept) < 10 + 7 + 4  # the rules overlap


def test_retention_keeps_one_if_any_rule_keeps_it() -> None:
    backups = _hourly(30)
    assert to_delete(backups, RetentionRules(0, 0, 0)) == [f"b{i}" for i in range(29, 0, -1)]


def test_retention_never_deletes_the_newest_verified_nor_a_protected_one() -> None:
    backups = [Kept("new", T0, False), Kept("old-verified", T0 - timedelta(days=40), True),
               Kept("busy", T0 - timedelta(days=50), False), Kept("gone", T0 - timedelta(days=60), False)]
    assert to_delete(backups, RetentionRules(1, 0, 0), protected={"busy"}) == ["gone"]


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize("member", [
    _member("../escape"), _member("Saves/../../escape"), _member("/etc/passwd"),
    _member("link", tarfile.SYMTYPE, "/etc/passwd"), _member("hard", tarfile.LNKTYPE, "Saves/x"),
    _member("dev", tarfile.CHRTYPE), _member("fifo", tarfile.FIFOTYPE), _member(""),
], ids=["dotdot", "inner-dotdot", "absolute", "symlink", "hardlink", "device", "fifo", "empty"])
def test_hostile_members_are_refused(member: tarfile.TarInfo) -> None:
    with pytest.raises(HostileArchive):
        check_member(member)


def test_plain_members_pass() -> None:
    check_member(_member("Saves/default.vcdbs"))
    check_member(_member("Playerdata", tarfile.DIRTYPE))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(_member("serverconfig.json"), io.BytesIO(b""))


def test_space_check_uses_the_last_backup_else_the_files() -> None:
    assert check_space(free=150, last_backup_size=100, files_size=10_000) is None
    short = check_space(free=149, last_backup_size=100, files_size=1)
    assert short is not None and short.needed == 150 and "149 bytes" in short.reason
    short = check_space(free=1_000, last_backup_size=None, files_size=1_000)
    assert short is not None and "the files'" in short.reason
