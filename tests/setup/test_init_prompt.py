"""`vsmanager init` without its arguments: questions with defaults on a terminal (a real
pseudo-terminal), an example with real paths and a failure everywhere else."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

from harness import TIME_SCALE
from vsmanager import cli
from vsmanager.config.settings import load_settings

TIMEOUT = 20 * TIME_SCALE

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def server_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "srv" / "vintagestory"
    folder.mkdir(parents=True)
    (folder / "VintagestoryServer.dll").write_bytes(b"MZ not really")
    return folder


def spawn_init(cwd: Path, home: Path, *args: str) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VS_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), TERM="xterm")
    return pexpect.spawn(sys.executable, ["-m", "vsmanager", "init", *args], cwd=str(cwd),
                         env=env, timeout=TIMEOUT, encoding="utf-8", dimensions=(40, 200))


@pytest.mark.parametrize("argv", [[], ["/tmp/somewhere"], ["--server-dir", "/srv/x"]],
                         ids=["nothing", "no-server-dir", "no-dir"])
def test_without_a_terminal_init_prints_an_example_and_fails(
    argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code = cli.main(["init", *argv])  # pytest's stdin is no terminal
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "vsmanager init /etc/vsmanager --server-dir /srv/vintagestory" in err
    wanted = [name for name, given in (("DIR", "/tmp/somewhere" in argv),
                                       ("--server-dir", "--server-dir" in argv)) if not given]
    assert f"init needs {' and '.join(wanted)};" in err
    assert "On a terminal, `vsmanager init` alone asks for them." in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_on_a_terminal_init_asks_with_defaults_and_writes(tmp_path: Path, server_dir: Path) -> None:
    child = spawn_init(server_dir, tmp_path / "home")
    try:
        child.expect(r"Folder for the config and the key \[(.+?)\]: ")
        default_folder = child.match.group(1)
        # /etc/vsmanager for root, the user's config folder otherwise.
        expected = "/etc/vsmanager" if os.geteuid() == 0 else str(tmp_path / "home/.config/vsmanager")
        assert default_folder == expected
        child.sendline(str(tmp_path / "etc"))
        # Run from the server's folder, the folder is the default.
        child.expect(r"Folder holding VintagestoryServer\.dll \[(.+?)\]: ")
        assert child.match.group(1) == str(server_dir)
        child.sendline("")
        child.expect(r"data folder \(worlds, mods, logs\) \[(.+?)\]: ")
        assert child.match.group(1) == str(server_dir.parent / "vintagestory-data")
        child.sendline("")
        child.expect("Next steps")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    settings = load_settings(config=tmp_path / "etc" / "vsmanager.toml")
    assert settings.server_argv[1:] == [str(server_dir / "VintagestoryServer.dll"), "--dataPath",
                                        str(server_dir.parent / "vintagestory-data")]


def test_on_a_terminal_init_asks_only_for_what_is_missing(tmp_path: Path, server_dir: Path) -> None:
    child = spawn_init(tmp_path, tmp_path / "home", "--server-dir", str(server_dir),
                       "--data-dir", str(tmp_path / "data"))
    try:
        child.expect(r"Folder for the config and the key \[.+?\]: ")
        child.sendline(str(tmp_path / "etc"))
        child.expect("Next steps")
        output = child.before
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "Folder holding" not in output and "data folder" not in output
    assert (tmp_path / "etc" / "vsmanager.toml").is_file()


def test_ctrl_d_at_a_question_writes_nothing(tmp_path: Path, server_dir: Path) -> None:
    child = spawn_init(tmp_path, tmp_path / "home")
    try:
        child.expect(r"Folder for the config and the key \[.+?\]: ")
        child.sendline(str(tmp_path / "etc"))
        child.expect(r"Folder holding VintagestoryServer\.dll \[(.+?)\]: ")
        assert child.match.group(1) == "/srv/vintagestory"  # not run from a server folder
        child.sendeof()
        child.expect(pexpect.EOF)
        output = re.sub(r"\r", "", child.before)
    finally:
        child.close()
    assert child.exitstatus == 130
    assert "vsmanager init: cancelled; nothing written" in output
    assert "Traceback" not in output
    assert not (tmp_path / "etc").exists()
