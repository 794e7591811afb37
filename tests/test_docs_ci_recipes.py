"""The CI recipes of docs/evidence.md run as written: their shell lines are taken from the page's YAML blocks and run
with bash, twice (a first run with no earlier bundle, then one with the first bundle as ``last``).

Only what cannot run here is replaced: ``--iam-account=prod`` by the demo account's snapshot, and the download of the
last bundle (GitHub's ``gh run download``, GitLab's artifacts API) by a copy of the first run's bundle.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import yaml

DOC = Path(__file__).resolve().parents[1] / "docs" / "evidence.md"
STANDARD = "controls:\n  - {id: KEYS, check: iam-access-key-rotation}\n  - {id: ROOT, check: iam-root-mfa}\n"


def _recipe(heading: str) -> dict:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"### {heading}\n", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, f"no YAML block under {heading!r}"
    return yaml.safe_load(block.group(1))


def _github_lines() -> List[str]:
    steps = _recipe("GitHub Actions")["jobs"]["iam"]["steps"]
    by_name = {step.get("name"): step for step in steps}
    return [by_name["standards"]["run"], by_name["verify"]["run"]]


def _gitlab_lines() -> List[str]:
    job = _recipe("GitLab CI")["iam-standards"]
    script = [line for line in job["script"] if not line.startswith(("pip install", "curl "))]
    return script + job["after_script"]


def _run(lines: List[str], folder: Path, snapshot: Path) -> List[subprocess.CompletedProcess]:
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    done = []
    for line in lines:
        assert "--iam-account=prod" in line or "pytest-iam verify" in line or "baseline=" in line, line
        script = line.replace("--iam-account=prod", f"--iam-snapshot={snapshot} -p no:cacheprovider")
        done.append(subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True,
                                   timeout=300))
    return done


@pytest.mark.parametrize("lines", [pytest.param(_github_lines, id="github-actions"),
                                   pytest.param(_gitlab_lines, id="gitlab-ci")])
def test_the_ci_recipe_writes_verifies_and_compares_bundles(lines, tmp_path: Path, demo_snapshot: Path) -> None:
    shell = lines()
    if len(shell) > 2:  # GitLab's baseline line and pytest line are separate items of one shell session
        shell = ["\n".join(shell[:-1]), shell[-1]]
    (tmp_path / "iam_recipe.yaml").write_text(STANDARD, encoding="utf-8")

    first = _run(shell, tmp_path, demo_snapshot)
    assert first[0].returncode == 1, first[0].stdout + first[0].stderr  # the demo's violations fail the job
    assert first[1].returncode == 0 and "verified" in first[1].stdout, first[1].stdout + first[1].stderr
    manifest = json.loads((tmp_path / "evidence" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest.get("baseline") is None and (tmp_path / "evidence.xml").is_file()

    # the recipes' download step, done by hand: the last bundle of main becomes ./last
    shutil.move(str(tmp_path / "evidence"), str(tmp_path / "last"))
    second = _run(shell, tmp_path, demo_snapshot)
    assert second[0].returncode == 1 and second[1].returncode == 0, second[0].stdout + second[1].stdout
    manifest = json.loads((tmp_path / "evidence" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["baseline"] == "last"
    diff = json.loads((tmp_path / "evidence" / "diff.json").read_text(encoding="utf-8"))
    assert diff["new_failures"] == [] and diff["fixed"] == [] and diff["still_failing"], diff
