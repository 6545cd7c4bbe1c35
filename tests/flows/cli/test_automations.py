"""The bundled automation recipes: valid Prefect automations, and chosen by name to install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

from flows.cli.automations import RECIPES, recipe_paths

UNILOAD = Path(sys.executable).with_name("uniload")


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.json")), ids=lambda p: p.stem)
def test_every_recipe_is_a_valid_automation(path: Path) -> None:
    automation = AutomationCore.model_validate(json.loads(path.read_text()))
    assert automation.name.startswith("uniload: ")


def test_the_crash_recipe_waits_for_any_final_state_or_the_next_heartbeat() -> None:
    recipe = json.loads((RECIPES / "crash-silent-runs.json").read_text())
    trigger = AutomationCore.model_validate(recipe).trigger
    assert isinstance(trigger, EventTrigger)
    assert trigger.posture == Posture.Proactive
    assert trigger.after == {"prefect.flow-run.heartbeat"}
    # uniload's own final state name: without it a run with failed rows would be "Crashed"
    assert "prefect.flow-run.Completed with failures" in trigger.expect
    assert trigger.within.total_seconds() == 3 * 30  # three missed beats of PREFECT_FLOWS_...=30


def test_recipes_are_chosen_by_name_and_an_unknown_one_is_named() -> None:
    assert [p.stem for p in recipe_paths(["crash-silent-runs"])] == ["crash-silent-runs"]
    assert {p.stem for p in recipe_paths([])} == {"alert-on-failed-rows", "crash-silent-runs"}
    with pytest.raises(ValueError, match="no recipe named nope: choose from alert-on-failed"):
        recipe_paths(["nope"])


def test_install_without_a_server_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path)  # no profile naming a server either
    command = [str(UNILOAD), "automations", "install"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "no Prefect server: set PREFECT_API_URL" in done.stderr
