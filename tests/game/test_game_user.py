"""VS_SERVER_USER: the game runs as another user, with that user's groups, when vsmanager may
change user (root); otherwise vsmanager says so and does not start it."""

from __future__ import annotations

import os
import pwd
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness import ADMIN_KEY, run_vsmanager, without_privileges
from vsmanager.config.settings import load_settings
from vsmanager.game.confinement import confinement_problems

WHOAMI = shlex.join(["/bin/sh", "-c", 'echo "WHOAMI uid=$(id -u) euid=$(id -u) gid=$(id -g) '
                     'groups=[$(id -G)] home=$HOME"; read line'])
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing user needs root")


@needs_root
def test_the_game_runs_as_the_configured_user() -> None:
    nobody = pwd.getpwnam("nobody")
    # A shell, not Python: the test's Python may live where nobody can run it (~root/.pyenv).
    with run_vsmanager(WHOAMI, server_user="nobody", server_ready_pattern="") as vsm:
        text = vsm.wait_for_line("WHOAMI")["text"]
    assert f"uid={nobody.pw_uid} euid={nobody.pw_uid} gid={nobody.pw_gid}" in text, text
    assert f"home={nobody.pw_dir}" in text
    assert "groups=[0" not in text and " 0 " not in text and " 0]" not in text  # none of root's groups


@needs_root
def test_without_the_right_to_change_user_the_game_is_not_started() -> None:
    with run_vsmanager(WHOAMI, server_user="nobody", unprivileged=True,
                       server_ready_pattern="") as vsm:
        status = vsm.wait_for_state("crashed")
        line = vsm.wait_for_line("server failed to start")["text"]
        log = vsm.log_text()
    assert status["state"] == "crashed"
    assert "may not change user" in str(line) and "WHOAMI" not in log


@needs_root
def test_config_check_says_when_vsmanager_may_not_change_user() -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "VS_API_KEY_ADMIN": ADMIN_KEY,
           "VS_SERVER_COMMAND": "true", "VS_SERVER_USER": "nobody"}
    result = subprocess.run([*without_privileges(), sys.executable, "-m", "vsmanager", "config", "check"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert "game_user_unavailable: VS_SERVER_USER=nobody" in result.stderr, result.stderr


def test_an_unknown_user_is_refused_naming_it(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_SERVER_USER", "no-such-user-here")
    with pytest.raises(ValueError, match="VS_SERVER_USER: there is no user 'no-such-user-here'"):
        load_settings()


def test_without_landlock_the_log_and_check_say_what_to_do(clean_env: pytest.MonkeyPatch) -> None:
    # The kernel here has Landlock; the decision is fed the fact "ABI 0" as a kernel without it gives.
    problems = dict(confinement_problems(load_settings(), 0))
    assert "game_confinement_unavailable" in problems
    assert "VS_SERVER_USER" in problems["game_confinement_unavailable"]
    assert not confinement_problems(load_settings(game_confine=False), 0)


def test_config_check_names_what_is_hidden_from_the_game(tmp_path: Path) -> None:
    (tmp_path / "admin.key").write_text(ADMIN_KEY)
    (tmp_path / "admin.key").chmod(0o600)
    config = tmp_path / "vsmanager.toml"
    config.write_text('api_key_admin_file = "admin.key"\nserver_command = "game"\n')
    env = {"PATH": os.environ.get("PATH", "/usr/bin")}
    result = subprocess.run([sys.executable, "-m", "vsmanager", "config", "check", "--config", str(config)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert "confined by Landlock" in result.stderr, result.stderr
    assert str(tmp_path / "admin.key") in result.stderr and str(config) in result.stderr
