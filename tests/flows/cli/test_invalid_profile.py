"""A profile folder holding a broken profile: the command stops in one line naming file and fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows import settings
from tests.flows.runs import assert_run_failed, oker_export, uniload

INVALID = Path(__file__).parents[2] / "fixtures" / "profiles" / "invalid"

pytestmark = pytest.mark.usefixtures("quiet_prefect")


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        ("bad-mapping.toml", "use one of: COD, PREPAID"),
        ("unknown-field.toml", "unknown canonical field(s) shiping_pincode; known: "),
    ],
)
def test_validate_names_the_broken_profile_file_and_the_fix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    fix: str,
) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for bundled in settings.PROFILES_DIR.glob("*.toml"):
        shutil.copy(bundled, profiles)
    broken = Path(shutil.copy(INVALID / name, profiles / name))
    monkeypatch.setenv(settings.ENV_PROFILES_DIR, str(profiles))
    result = uniload(capsys, "validate", str(oker_export(tmp_path / "orders.csv")))
    assert_run_failed(result, str(broken), fix)
    assert result.err.count("\n") == 1, result.err
