"""One configuration everywhere: explicit parameter > the run's environment > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import settings
from flows.config import Settings, resolve_options
from flows.exceptions import ConfigError


def test_defaults_are_relative_to_the_home(tmp_path: Path) -> None:
    env = Settings.from_env({"UNILOAD_HOME": str(tmp_path)})
    options = resolve_options({}, env)
    assert options.ledger == str(tmp_path / settings.DEFAULT_LEDGER)
    assert options.report_dir == str(tmp_path / settings.DEFAULT_REPORT_DIR)
    assert options.rate == settings.DEFAULT_RATE
    assert options.concurrency == settings.DEFAULT_CONCURRENCY


def test_the_environment_wins_over_defaults_and_parameters_over_both(tmp_path: Path) -> None:
    env = Settings.from_env(
        {
            "UNILOAD_HOME": str(tmp_path),
            "UNILOAD_LEDGER": "state/ledger.db",
            "UNILOAD_REPORT_DIR": "s3://bucket/reports",
            "UNILOAD_RATE": "5",
            "UNILOAD_CONCURRENCY": "3",
            "UNILOAD_TARGET_ZONE": "Asia/Kolkata",
            "UNILOAD_SHARED_LIMIT": "uniware",
            "UNILOAD_FACILITY_MAP": "/etc/uniload/map.json",
        }
    )
    from_env = resolve_options({}, env)
    assert from_env.ledger == str(tmp_path / "state" / "ledger.db")
    assert from_env.report_dir == "s3://bucket/reports"  # a URL is left as given
    assert (from_env.rate, from_env.concurrency) == (5.0, 3)
    assert from_env.target_zone == "Asia/Kolkata"
    assert from_env.shared_limit == "uniware"
    assert from_env.facility_map == "/etc/uniload/map.json"
    explicit = resolve_options({"rate": 2.5, "concurrency": 1, "ledger": "/x/l.db"}, env)
    assert (explicit.rate, explicit.concurrency, explicit.ledger) == (2.5, 1, "/x/l.db")
    assert resolve_options({"rate": 0}, env).rate is None  # 0: concurrency cap only


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("UNILOAD_RATE", "fast", "UNILOAD_RATE='fast' is not a number"),
        ("UNILOAD_RATE", "nan", "is not a finite number"),
        ("UNILOAD_CONCURRENCY", "2.5", "UNILOAD_CONCURRENCY='2.5' is not a whole number"),
    ],
    ids=["word", "nan", "fraction"],
)
def test_a_malformed_variable_is_one_line_naming_it(variable: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        Settings.from_env({variable: value})
    assert "\n" not in str(caught.value)


def test_a_ledger_url_with_a_password_is_never_a_parameter() -> None:
    env = Settings.from_env({})
    secret = "postgresql+psycopg://uniload:s3cret@db/uniload"
    with pytest.raises(ConfigError, match="UNILOAD_LEDGER") as caught:
        resolve_options({"ledger": secret}, env)
    assert "s3cret" not in str(caught.value)
    from_env = resolve_options({}, Settings.from_env({"UNILOAD_LEDGER": secret}))
    assert from_env.ledger == secret  # from the environment it is fine


def test_a_ledger_in_a_secret_block_is_read_by_name() -> None:
    env = Settings.from_env({"UNILOAD_LEDGER_SECRET": "ledger-url"})
    asked: list[str] = []

    def read(name: str) -> str:
        asked.append(name)
        return "postgresql+psycopg://u:p@db/x"

    assert resolve_options({}, env, read_secret=read).ledger == "postgresql+psycopg://u:p@db/x"
    assert asked == ["ledger-url"]
    assert resolve_options({"ledger": "/a.db"}, env, read_secret=read).ledger == "/a.db"
