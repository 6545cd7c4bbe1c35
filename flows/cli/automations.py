"""`uniload automations install`: put the bundled automation recipes on the Prefect server.

Each recipe is a JSON file of data/automations/ (its name is the file's stem). One already on
the server under the same automation name is updated in place, so installing twice leaves one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from flows.settings import DATA

RECIPES = DATA / "automations"


def recipe_paths(names: list[str]) -> list[Path]:
    """The recipe files named (every bundled one when none); a ValueError names the choices."""
    bundled = {path.stem: path for path in sorted(RECIPES.glob("*.json"))}
    unknown = [name for name in names if name not in bundled]
    if unknown:
        raise ValueError(f"no recipe named {', '.join(unknown)}: choose from {', '.join(bundled)}")
    return [bundled[name] for name in names] if names else list(bundled.values())


def install(api_url: str, paths: list[Path]) -> list[str]:
    """Create each recipe's automation, or update the one of the same name; what was done."""
    api = api_url.rstrip("/")
    existing = _by_name(api)
    done = []
    for path in paths:
        recipe = json.loads(path.read_text(encoding="utf-8"))
        if recipe["name"] in existing:
            url = f"{api}/automations/{existing[recipe['name']]}"
            _check(httpx.put(url, json=recipe, timeout=30), path)
            done.append(f"updated {path.stem}: {recipe['name']}")
        else:
            _check(httpx.post(f"{api}/automations/", json=recipe, timeout=30), path)
            done.append(f"installed {path.stem}: {recipe['name']}")
    return done


def _by_name(api: str) -> dict[str, str]:
    answer = httpx.post(f"{api}/automations/filter", json={}, timeout=30)
    answer.raise_for_status()
    return {str(a["name"]): str(a["id"]) for a in answer.json()}


def _check(answer: httpx.Response, path: Path) -> None:
    if answer.status_code >= 400:
        refused = f"the server refused it ({answer.status_code})"
        raise ValueError(f"{path.name}: {refused}: {answer.text}")


def run(args: argparse.Namespace) -> int:
    """Install the named recipes on the server of PREFECT_API_URL; 0, or 1 with the reason."""
    from prefect.settings import PREFECT_API_URL

    api_url: Any = PREFECT_API_URL.value()
    if not api_url:
        print(
            "uniload: no Prefect server: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)",
            file=sys.stderr,
        )
        return 1
    try:
        for line in install(str(api_url), recipe_paths(list(args.names))):
            print(line)
    except ValueError as err:
        print(f"uniload: {err}", file=sys.stderr)
        return 1
    except httpx.HTTPError as err:
        print(f"uniload: cannot reach the Prefect server at {api_url}: {err}", file=sys.stderr)
        return 1
    return 0
