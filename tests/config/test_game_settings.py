"""The game and metrics settings: profiles, patterns and bounds, refused with their names."""

from __future__ import annotations

import pytest

from vsmanager.config.settings import SettingsError, load_settings


def test_defaults() -> None:
    settings = load_settings()
    assert settings.game_profile == "vintagestory"
    assert settings.game_patterns == {}
    assert settings.metrics_interval == 5.0 and settings.metrics_retention == 3600.0
    assert not settings.metrics_public


def test_patterns_set_are_the_ones_reported() -> None:
    settings = load_settings(game_pattern_join=r"^(?P<name>\w+) joined$", game_pattern_leave="")
    assert settings.game_patterns == {"join": r"^(?P<name>\w+) joined$"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"game_profile": "minecraft"}, "VS_GAME_PROFILE"),
        ({"game_pattern_join": r"^(\w+) joined$"}, "VS_GAME_PATTERN_JOIN needs the named group (?P<name>...)"),
        ({"game_pattern_players": "(("}, "VS_GAME_PATTERN_PLAYERS is not a valid regular expression"),
        ({"metrics_interval": 0.1}, "VS_METRICS_INTERVAL"),
        ({"metrics_retention": 0}, "VS_METRICS_RETENTION"),
        ({"metrics_interval": 0.5, "metrics_retention": 7 * 86_400}, "at most 100000 samples"),
    ],
    ids=["unknown-profile", "join-without-name", "bad-regex", "interval-too-short", "no-retention",
         "too-many-samples"],
)
def test_unusable_values_are_refused_by_name(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(**overrides)
    assert message in str(error.value)


def test_metrics_public_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VS_METRICS_PUBLIC", "true")
    monkeypatch.setenv("VS_GAME_PROFILE", "none")
    settings = load_settings()
    assert settings.metrics_public and settings.game_profile == "none"
