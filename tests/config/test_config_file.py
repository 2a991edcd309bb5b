"""The config file: precedence under the environment, sections, refusals naming key and file,
keys read from files, warnings for unknown VS_* variables, and `vsmanager config`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from vsmanager import cli
from vsmanager.config.file import read_config_file
from vsmanager.config.settings import Settings, SettingsError, load_settings, unknown_variables

ADMIN_KEY = "admin-key-0123456789abcdef"
MONITOR_KEY = "monitor-key-0123456789abcdef"


# No VS_* variable from the machine running the tests leaks in (conftest.py).
pytestmark = pytest.mark.usefixtures("clean_env")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def refusal(config: Path) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(config=config)
    return str(caught.value)


# -- reading and precedence ---------------------------------------------------------------


def test_file_sets_flat_keys(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", 'server_command = "game --x"\nconsole_history_lines = 200\n'
                   "server_autostart = true\n")
    settings = load_settings(config=config)
    assert settings.server_command == "game --x"
    assert settings.console_history_lines == 200
    assert settings.server_autostart is True


def test_environment_overrides_the_file(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "c.toml", "server_stop_timeout = 30\nconsole_history_lines = 200\n")
    clean_env.setenv("VS_SERVER_STOP_TIMEOUT", "7")
    settings = load_settings(config=config)
    assert settings.server_stop_timeout == 7  # the variable wins
    assert settings.console_history_lines == 200  # the file still counts where no variable is


def test_overrides_in_code_win_over_environment_and_file(tmp_path: Path,
                                                        clean_env: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "c.toml", "console_history_lines = 200\n")
    clean_env.setenv("VS_CONSOLE_HISTORY_LINES", "300")
    assert load_settings(config=config, console_history_lines=400).console_history_lines == 400


def test_unset_settings_keep_their_defaults(tmp_path: Path) -> None:
    settings = load_settings(config=write(tmp_path / "c.toml", "console_history_lines = 5\n"))
    assert settings.server_stop_command == "/stop"
    assert settings.console_buffer_lines == Settings.model_fields["console_buffer_lines"].default


def test_vs_config_names_the_file(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_CONFIG", str(write(tmp_path / "c.toml", "console_history_lines = 9\n")))
    assert load_settings().console_history_lines == 9


def test_config_argument_wins_over_vs_config(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_CONFIG", str(write(tmp_path / "a.toml", "console_history_lines = 1\n")))
    chosen = write(tmp_path / "b.toml", "console_history_lines = 2\n")
    assert load_settings(config=chosen).console_history_lines == 2


def test_no_file_at_all_is_the_environment_alone() -> None:
    assert load_settings().console_history_lines == 100


# -- sections -----------------------------------------------------------------------------


def test_a_section_is_a_prefix(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", '[server]\ncommand = "game"\nstop_timeout = 12\n'
                   "[console]\nhistory_lines = 3\n")
    settings = load_settings(config=config)
    assert settings.server_command == "game"
    assert settings.server_stop_timeout == 12
    assert settings.console_history_lines == 3


def test_nested_sections_join_their_names(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[console.buffer]\nlines = 500\n")
    assert load_settings(config=config).console_buffer_lines == 500


def test_flat_keys_and_sections_mix(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", 'server_command = "game"\n[ws]\nsend_timeout = 3\n')
    settings = load_settings(config=config)
    assert (settings.server_command, settings.ws_send_timeout) == ("game", 3)


def test_a_setting_written_twice_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", 'server_command = "a"\n[server]\ncommand = "b"\n')
    message = refusal(config)
    assert "server.command" in message and "server_command" in message and str(config) in message


# -- refusals -----------------------------------------------------------------------------


def test_unknown_key_names_the_closest_valid_one(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", 'server_comand = "game"\n')
    message = refusal(config)
    assert str(config) in message
    assert "'server_comand'" in message and "did you mean 'server_command'" in message


def test_unknown_key_in_a_section_is_suggested_in_that_section(tmp_path: Path) -> None:
    message = refusal(write(tmp_path / "c.toml", "[console]\nhistory_line = 5\n"))
    assert "'console.history_line'" in message
    assert "'history_lines' in [console] (console_history_lines)" in message


def test_every_unknown_key_is_reported_at_once(tmp_path: Path) -> None:
    message = refusal(write(tmp_path / "c.toml", "nothing_like_it = 1\nws_send_timout = 2\n"))
    assert "'nothing_like_it'" in message and "config example" in message
    assert "did you mean 'ws_send_timeout'" in message


def test_bad_value_names_the_key_and_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[server]\nstop_timeout = -1\n")
    message = refusal(config)
    assert message.startswith(f"server.stop_timeout in {config}:")
    assert "greater than 0" in message


def test_bad_value_from_the_environment_names_the_variable(tmp_path: Path,
                                                         clean_env: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "c.toml", "server_stop_timeout = 5\n")
    clean_env.setenv("VS_SERVER_STOP_TIMEOUT", "-1")
    assert refusal(config).startswith("VS_SERVER_STOP_TIMEOUT:")


def test_wrong_type_names_the_key_and_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", 'console_history_lines = "many"\n')
    assert refusal(config).startswith(f"console_history_lines in {config}:")


def test_invalid_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", 'server_command = "unterminated\n')
    message = refusal(config)
    assert str(config) in message and "not valid TOML" in message and "line 1" in message


def test_missing_file_is_refused_with_its_name(tmp_path: Path) -> None:
    message = refusal(tmp_path / "absent.toml")
    assert str(tmp_path / "absent.toml") in message and "No such file" in message


def test_relative_paths_are_relative_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "etc" / "game").mkdir(parents=True)
    config = write(tmp_path / "etc" / "c.toml", 'server_workdir = "game"\n')
    monkeypatch.chdir("/")
    assert load_settings(config=config).server_workdir == tmp_path / "etc" / "game"


def test_reader_keeps_non_path_strings_as_written(tmp_path: Path) -> None:
    config = read_config_file(write(tmp_path / "c.toml", 'a = "x/y"\nb = "x/y"\n'), {"a", "b"}, {"b"})
    assert config.values == {"a": "x/y", "b": str(tmp_path / "x/y")}


# -- keys read from files -----------------------------------------------------------------


def test_admin_key_is_read_from_its_file_trimmed(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    key_file = write(tmp_path / "admin.key", f"  {ADMIN_KEY}\n\n")
    clean_env.setenv("VS_API_KEY_ADMIN_FILE", str(key_file))
    settings = load_settings()
    assert settings.api_key_admin is not None
    assert settings.api_key_admin.get_secret_value() == ADMIN_KEY
    assert ADMIN_KEY in settings.secret_values()  # so logs redact it like any key


def test_monitor_key_file_from_the_config_file_beside_it(tmp_path: Path) -> None:
    write(tmp_path / "monitor.key", MONITOR_KEY)
    config = write(tmp_path / "c.toml", 'api_key_monitor_file = "monitor.key"\n')
    settings = load_settings(config=config)
    assert settings.api_key_monitor is not None
    assert settings.api_key_monitor.get_secret_value() == MONITOR_KEY


def test_key_and_key_file_together_are_refused(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_API_KEY_ADMIN", ADMIN_KEY)
    clean_env.setenv("VS_API_KEY_ADMIN_FILE", str(write(tmp_path / "k", ADMIN_KEY)))
    with pytest.raises(SettingsError, match="VS_API_KEY_ADMIN or VS_API_KEY_ADMIN_FILE, not both"):
        load_settings()


def test_missing_key_file_names_the_variable_and_the_path(tmp_path: Path,
                                                        clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_API_KEY_ADMIN_FILE", str(tmp_path / "nope.key"))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "VS_API_KEY_ADMIN_FILE" in str(caught.value) and str(tmp_path / "nope.key") in str(caught.value)


def test_short_key_in_a_file_is_refused(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_API_KEY_MONITOR_FILE", str(write(tmp_path / "k", "short\n")))
    with pytest.raises(SettingsError, match=r"VS_API_KEY_MONITOR_FILE: the key in .* at least 16"):
        load_settings()


def test_keys_from_files_must_differ(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_API_KEY_ADMIN_FILE", str(write(tmp_path / "a", ADMIN_KEY)))
    clean_env.setenv("VS_API_KEY_MONITOR_FILE", str(write(tmp_path / "m", ADMIN_KEY)))
    with pytest.raises(SettingsError, match="must differ"):
        load_settings()


def test_empty_key_file_variable_means_unset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("VS_API_KEY_ADMIN_FILE", "")
    assert load_settings().api_key_admin is None


# -- unknown VS_* variables ---------------------------------------------------------------


def test_misspelt_variable_is_warned_with_the_closest_name() -> None:
    warnings = unknown_variables({"VS_SERVER_COMAND": "x", "PATH": "/bin"})
    assert warnings == ["VS_SERVER_COMAND is not a vsmanager setting and is ignored; "
                        "did you mean VS_SERVER_COMMAND?"]


def test_settings_and_known_variables_are_not_warned() -> None:
    known = {"VS_SERVER_COMMAND": "x", "VS_CONFIG": "c", "VS_URL": "u", "VS_API_KEY": "k",
             "VS_API_KEY_ADMIN_FILE": "f", "vs_console_history_lines": "5", "VSX": "1"}
    assert unknown_variables(known) == []


def test_serve_warns_about_an_unknown_variable_and_goes_on(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("VS_WS_SEND_TIMOUT", "3")
    assert cli.main(["serve"]) == 2  # refused for the missing key and command, not the typo
    err = capsys.readouterr().err
    assert "warning: VS_WS_SEND_TIMOUT is not a vsmanager setting" in err
    assert "did you mean VS_WS_SEND_TIMEOUT?" in err
    assert "VS_API_KEY_ADMIN is required" in err


# -- vsmanager config example / check -----------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_example_lists_every_setting_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "config", "example")
    assert code == 0
    for name in Settings.model_fields:
        assert re.search(rf"^# {name} =", out, re.MULTILINE), name
    assert "# server_stop_timeout = 60.0" in out
    assert '# server_ready_pattern = "Dedicated Server now running on Port"' in out


def test_example_round_trips_through_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, example, _ = run_cli(capsys, "config", "example")
    config = write(tmp_path / "example.toml", example)
    code, from_file, err = run_cli(capsys, "config", "check", "--config", str(config))
    assert code == 1, err  # valid; serve would still want a key and a command
    assert "invalid" not in err and "VS_API_KEY_ADMIN is required" in err
    _, no_file, _ = run_cli(capsys, "config", "check")
    assert _settings_lines(from_file) == _settings_lines(no_file)  # the example is the defaults


def test_example_uncommented_loads_as_the_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, example, _ = run_cli(capsys, "config", "example")
    # Each "# key = value" line with a value, uncommented: the template's values are valid TOML
    # and valid settings, and they are the defaults.
    lines = [m[1] for m in re.finditer(r"^# ([a-z_0-9]+ = [^#\s].*)$", example, re.MULTILINE)]
    config = write(tmp_path / "active.toml", "\n".join(lines) + "\n")
    assert len(tomllib.loads(config.read_text())) == len(lines) > 10
    assert load_settings(config=config).model_dump() == load_settings().model_dump()


def test_check_masks_secrets_and_says_where_values_come_from(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "admin.key", ADMIN_KEY)
    config = write(tmp_path / "c.toml", 'api_key_admin_file = "admin.key"\nserver_command = "game"\n')
    clean_env.setenv("VS_API_KEY_MONITOR", MONITOR_KEY)
    clean_env.setenv("VS_CONSOLE_HISTORY_LINES", "7")
    (tmp_path / "admin.key").chmod(0o600)
    code, out, err = run_cli(capsys, "config", "check", "--config", str(config))
    assert code == 0, err
    assert ADMIN_KEY not in out and MONITOR_KEY not in out
    assert 'api_key_admin = "********"  # read from api_key_admin_file' in out
    assert 'api_key_monitor = "********"  # from VS_API_KEY_MONITOR' in out
    assert f'server_command = "game"  # from server_command in {config}' in out
    assert "console_history_lines = 7  # from VS_CONSOLE_HISTORY_LINES" in out
    assert "server_stop_timeout = 60.0  # default" in out
    assert "the configuration is valid" in err


def test_check_warns_about_a_key_file_others_can_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = write(tmp_path / "admin.key", ADMIN_KEY)
    key.chmod(0o644)
    config = write(tmp_path / "c.toml", 'api_key_admin_file = "admin.key"\nserver_command = "game"\n')
    _, _, err = run_cli(capsys, "config", "check", "--config", str(config))
    assert f"chmod 600 {key}" in err


def test_check_of_an_invalid_file_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "c.toml", "[ws]\nsend_timeout = 0\n")
    code, _, err = run_cli(capsys, "config", "check", "--config", str(config))
    assert code == 2
    assert f"ws.send_timeout in {config}:" in err


def _settings_lines(check_output: str) -> list[str]:
    """The settings of a `config check` output, without the header or the origins."""
    return [line.split("  # ")[0] for line in check_output.splitlines() if not line.startswith("# vsmanager")]


def test_every_variable_the_project_reads_is_known() -> None:
    """A VS_* name read anywhere in vsmanager, its benchmarks or its test harness is a setting or
    a known variable: otherwise serve would warn that it is ignored."""
    repo = Path(__file__).resolve().parents[2]
    sources = [*(repo / "src" / "vsmanager").rglob("*.py"), *(repo / "bench").rglob("*.py"),
               repo / "tests" / "harness.py", *(repo / "tests").rglob("conftest.py")]
    quoted = re.compile(r"""["'](VS_[A-Z0-9_]*[A-Z0-9])["']""")
    names = {name for path in sources for name in quoted.findall(path.read_text(encoding="utf-8"))}
    assert names and unknown_variables(dict.fromkeys(names, "x")) == []


def test_weak_key_in_a_file_is_refused_naming_the_file(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    key_file = write(tmp_path / "admin.key", "a" * 40)
    clean_env.setenv("VS_API_KEY_ADMIN_FILE", str(key_file))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"VS_API_KEY_ADMIN_FILE: the key in {key_file} is too weak")
