"""The sending and monitoring settings: clear refusals for values that make no sense."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def settings_from(tmp_path: Path, **values: str) -> object:
    return load_settings({"COMPANION_DATA_DIR": str(tmp_path), **values})


def test_defaults_keep_telegrams_limits(tmp_path: Path) -> None:
    settings = load_settings({"COMPANION_DATA_DIR": str(tmp_path)})
    assert (settings.send_pacing, settings.send_rate, settings.ops_listen) == (True, 30, None)
    assert settings.concurrent_updates == 8


def test_values_are_read(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "COMPANION_DATA_DIR": str(tmp_path),
            "COMPANION_SEND_PACING": "off",
            "COMPANION_SEND_RATE": "100",
            "COMPANION_OPS_LISTEN": "127.0.0.1:9101",
            "COMPANION_CONCURRENT_UPDATES": "1",
        }
    )
    assert settings.concurrent_updates == 1
    assert (settings.send_pacing, settings.send_rate, settings.ops_listen) == (
        False,
        100,
        "127.0.0.1:9101",
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("COMPANION_SEND_PACING", "sometimes", "must be on or off"),
        ("COMPANION_SEND_RATE", "0", "whole number above 0"),
        ("COMPANION_SEND_RATE", "fast", "whole number above 0"),
        ("COMPANION_CONCURRENT_UPDATES", "-2", "whole number above 0"),
        ("COMPANION_OPS_LISTEN", "9101", "must look like 127.0.0.1:8080"),
    ],
)
def test_nonsense_is_refused_by_name(tmp_path: Path, name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=name) as refused:
        settings_from(tmp_path, **{name: value})
    assert says in str(refused.value)
