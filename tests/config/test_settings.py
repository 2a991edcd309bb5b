"""Settings from VS_* variables: defaults, and refusals that name the variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vsmanager.config.settings import MIN_KEY_LENGTH, Settings, SettingsError, load_settings

ADMIN_KEY = "admin-key-0123456789abcdef"
MONITOR_KEY = "monitor-key-0123456789abcdef"
READY_LINE = "Dedicated Server now running on Port 42420 and all ips!"


# No VS_* variable from the machine running the tests leaks in (conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


def refused(**env: str) -> str:
    """Load with these variables set, and return the error message (which must exist)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        with pytest.raises(SettingsError) as caught:
            load_settings()
    return str(caught.value)


# -- defaults -----------------------------------------------------------------------------


def test_defaults_load_without_any_variable() -> None:
    settings = load_settings()
    assert settings.api_key_admin is None
    assert settings.api_key_monitor is None
    assert settings.server_command == ""
    assert settings.server_autostart is False


def test_default_history_is_100_lines() -> None:
    assert load_settings().console_history_lines == 100


def test_default_buffer_is_10000_lines() -> None:
    assert load_settings().console_buffer_lines == 10_000


def test_default_stop_timeout_is_60_seconds() -> None:
    assert load_settings().server_stop_timeout == 60


def test_default_kill_timeout_is_10_seconds() -> None:
    assert load_settings().server_kill_timeout == 10


def test_default_stop_command_is_slash_stop() -> None:
    assert load_settings().server_stop_command == "/stop"


def test_default_command_limit_is_1000_characters() -> None:
    assert load_settings().command_max_chars == 1000


def test_default_ready_pattern_matches_the_vintage_story_line() -> None:
    regex = load_settings().ready_regex
    assert regex is not None
    assert regex.search(READY_LINE)
    assert regex.search("17.3.2025 12:00:00 [Notification] " + READY_LINE)
    assert not regex.search("Loading world...")


def test_empty_ready_pattern_means_ready_at_once(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_SERVER_READY_PATTERN", "")
    assert load_settings().ready_regex is None


def test_default_buffer_bytes_hold_four_of_the_longest_lines() -> None:
    settings = load_settings()
    assert settings.console_buffer_bytes >= 4 * settings.console_max_line_bytes


# -- reading the environment --------------------------------------------------------------


def test_variables_are_read_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_API_KEY_ADMIN", ADMIN_KEY)
    clean_env.setenv("VS_CONSOLE_HISTORY_LINES", "5")
    clean_env.setenv("VS_SERVER_AUTOSTART", "true")
    clean_env.setenv("VS_SERVER_STOP_TIMEOUT", "2.5")
    settings = load_settings()
    assert settings.api_key_admin is not None
    assert settings.api_key_admin.get_secret_value() == ADMIN_KEY
    assert settings.console_history_lines == 5
    assert settings.server_autostart is True
    assert settings.server_stop_timeout == 2.5


def test_overrides_win_over_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_CONSOLE_HISTORY_LINES", "5")
    assert load_settings(console_history_lines=7).console_history_lines == 7


def test_server_command_splits_into_words_like_a_shell(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_SERVER_COMMAND", "dotnet '/srv/my vs/Server.dll' --dataPath /srv/data")
    assert load_settings().server_argv == [
        "dotnet",
        "/srv/my vs/Server.dll",
        "--dataPath",
        "/srv/data",
    ]


def test_existing_workdir_is_accepted(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("VS_SERVER_WORKDIR", str(tmp_path))
    assert load_settings().server_workdir == tmp_path


def test_keys_are_hidden_from_the_settings_repr(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_API_KEY_ADMIN", ADMIN_KEY)
    clean_env.setenv("VS_API_KEY_MONITOR", MONITOR_KEY)
    settings = load_settings()
    assert ADMIN_KEY not in repr(settings) and MONITOR_KEY not in repr(settings)
    assert sorted(settings.secret_values()) == sorted([ADMIN_KEY, MONITOR_KEY])


# -- refusals -----------------------------------------------------------------------------


def test_short_admin_key_is_refused_by_name() -> None:
    message = refused(VS_API_KEY_ADMIN="x" * (MIN_KEY_LENGTH - 1))
    assert "VS_API_KEY_ADMIN" in message
    assert "16" in message


def test_short_monitor_key_is_refused_by_name() -> None:
    assert "VS_API_KEY_MONITOR" in refused(VS_API_KEY_MONITOR="short")


def test_key_of_exactly_16_characters_is_accepted() -> None:
    assert load_settings(api_key_admin="abcdefgh" * (MIN_KEY_LENGTH // 8)).api_key_admin is not None


def test_refusal_never_echoes_the_key() -> None:
    secret = "s3cr3t-but-short"[:15]
    message = refused(VS_API_KEY_ADMIN=secret)
    assert secret not in message


def test_equal_admin_and_monitor_keys_are_refused() -> None:
    message = refused(VS_API_KEY_ADMIN=ADMIN_KEY, VS_API_KEY_MONITOR=ADMIN_KEY)
    assert "VS_API_KEY_MONITOR" in message and "VS_API_KEY_ADMIN" in message
    assert ADMIN_KEY not in message


def test_bad_ready_pattern_is_refused_by_name() -> None:
    message = refused(VS_SERVER_READY_PATTERN="Dedicated (Server")
    assert "VS_SERVER_READY_PATTERN" in message
    assert "regular expression" in message


def test_missing_workdir_is_refused_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    message = refused(VS_SERVER_WORKDIR=str(missing))
    assert "VS_SERVER_WORKDIR" in message
    assert str(missing) in message


def test_workdir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "server.dll"
    file.write_text("")
    assert "VS_SERVER_WORKDIR" in refused(VS_SERVER_WORKDIR=str(file))


def test_command_with_an_unbalanced_quote_is_refused_by_name() -> None:
    message = refused(VS_SERVER_COMMAND="dotnet 'VintagestoryServer.dll")
    assert "VS_SERVER_COMMAND" in message
    assert "not a valid command line" in message


@pytest.mark.parametrize(
    "value", ["abc", "5", "-1", "10.5"], ids=["text", "too-few", "neg", "frac"]
)
def test_bad_buffer_lines_is_refused_by_name(value: str) -> None:
    assert "VS_CONSOLE_BUFFER_LINES" in refused(VS_CONSOLE_BUFFER_LINES=value)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_bad_stop_timeout_is_refused_by_name(value: str) -> None:
    assert "VS_SERVER_STOP_TIMEOUT" in refused(VS_SERVER_STOP_TIMEOUT=value)


def test_bad_kill_timeout_is_refused_by_name() -> None:
    assert "VS_SERVER_KILL_TIMEOUT" in refused(VS_SERVER_KILL_TIMEOUT="0")


def test_negative_history_is_refused_by_name() -> None:
    assert "VS_CONSOLE_HISTORY_LINES" in refused(VS_CONSOLE_HISTORY_LINES="-1")


def test_command_limit_over_1000_is_refused_by_name() -> None:
    assert "VS_COMMAND_MAX_CHARS" in refused(VS_COMMAND_MAX_CHARS="1001")


def test_buffer_bytes_too_small_for_the_longest_lines_is_refused() -> None:
    message = refused(VS_CONSOLE_BUFFER_BYTES=str(64 * 1024), VS_CONSOLE_MAX_LINE_BYTES="32768")
    assert "VS_CONSOLE_BUFFER_BYTES" in message and "VS_CONSOLE_MAX_LINE_BYTES" in message


def test_every_bad_variable_is_named_at_once() -> None:
    message = refused(VS_API_KEY_ADMIN="short", VS_CONSOLE_BUFFER_LINES="abc")
    assert "VS_API_KEY_ADMIN" in message and "VS_CONSOLE_BUFFER_LINES" in message


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


# -- require_serving ----------------------------------------------------------------------


def test_serving_requires_an_admin_key() -> None:
    settings = load_settings(server_command="dotnet Server.dll")
    with pytest.raises(SettingsError, match="VS_API_KEY_ADMIN is required"):
        settings.require_serving()


@pytest.mark.parametrize("command", ["", "   "], ids=["empty", "blank"])
def test_serving_requires_a_server_command(command: str) -> None:
    settings = load_settings(api_key_admin=ADMIN_KEY, server_command=command)
    with pytest.raises(SettingsError, match="VS_SERVER_COMMAND is required"):
        settings.require_serving()


def test_serving_names_both_missing_variables() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings().require_serving()
    assert re.search("VS_API_KEY_ADMIN.*\n.*VS_SERVER_COMMAND", str(caught.value))


def test_serving_with_key_and_command_returns_the_settings() -> None:
    settings = load_settings(api_key_admin=ADMIN_KEY, server_command="dotnet Server.dll")
    assert settings.require_serving() is settings
    assert isinstance(settings, Settings)


def test_empty_monitor_key_means_no_monitor_key(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_API_KEY_MONITOR", "")
    assert load_settings().api_key_monitor is None


def test_stop_command_with_a_newline_is_refused_by_name() -> None:
    message = refused(VS_SERVER_STOP_COMMAND="/save\n/stop")
    assert "VS_SERVER_STOP_COMMAND" in message


def test_empty_stop_command_is_allowed(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_SERVER_STOP_COMMAND", "")
    assert load_settings().server_stop_command == ""
