"""The package as a user gets it: sdist and wheel built from a clean checkout, complete metadata, the
wheel installed into a fresh virtual environment that runs the README's integration example.

``python -m build`` builds the sdist, then the wheel from the sdist (so a file the sdist forgets
fails here), in an isolated environment with the build backend from the package index. The fresh
environment gets the wheel and its dependencies from the package index too (CI reaches PyPI), and
nothing of this checkout: it runs in a temporary directory without ``PYTHONPATH``. The example
writes through moto's server, which this test process runs. The README's vendoring command runs
with the same wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KEY, load_event, table_items
from tests.functional.test_readme_snippets import SNIPPETS
from tests.unit.test_template import clean_checkout

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TABLE = "skill-metrics-package"
VERSION = "0.1.0"
WHEEL = f"alexa_skill_metrics-{VERSION}-py3-none-any.whl"


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{args[:4]}...\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would import this checkout's package."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel, built by ``python -m build`` from a clean copy of the repository."""
    pytest.importorskip("build", reason="the build package is in the dev extra: pip install -e '.[dev]'")
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know which files a clone has")
    checkout = clean_checkout(tmp_path_factory.mktemp("checkout"))
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(checkout)], checkout, clean_env())
    return out


def test_wheel_metadata_is_complete(dist: Path) -> None:
    with zipfile.ZipFile(dist / WHEEL) as wheel:
        names = wheel.namelist()
        metadata = Parser().parsestr(wheel.read(f"alexa_skill_metrics-{VERSION}.dist-info/METADATA").decode())
    assert metadata["Name"] == "alexa-skill-metrics" and metadata["Version"] == VERSION
    assert metadata["Summary"] and metadata["Requires-Python"] == ">=3.11"
    assert metadata["License-Expression"] == "Apache-2.0" and metadata["License-File"] == "LICENSE"
    assert f"alexa_skill_metrics-{VERSION}.dist-info/licenses/LICENSE" in names
    classifiers = metadata.get_all("Classifier") or []
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert "Typing :: Typed" in classifiers or not any(n.endswith("py.typed") for n in names)
    assert "alexa" in (metadata["Keywords"] or "")
    # The README is the long description, rendered as Markdown
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "## Add the recorder to your skill" in metadata.get_payload()
    # Dependencies and extras as pyproject.toml declares them
    requires = metadata.get_all("Requires-Dist") or []
    assert any(r.startswith("ask-sdk-core") for r in requires)
    assert {"analytics", "cli", "dev"} <= set(metadata.get_all("Provides-Extra") or [])
    # The code, and nothing of the repository around it
    assert "alexa_skill_metrics/formatting.py" in names and "sample_skill/app.py" in names
    assert not any(n.startswith(("tests/", "bench/", "infra/", "events/")) for n in names)


def test_sdist_carries_what_the_wheel_is_built_from(dist: Path) -> None:
    with tarfile.open(dist / f"alexa_skill_metrics-{VERSION}.tar.gz") as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml", "PKG-INFO"} <= names
    assert "lambda_fn/alexa_skill_metrics/recording/skill_metrics.py" in names


@pytest.fixture(scope="module")
def fresh_env(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new virtual environment with the built wheel and its dependencies from the package index."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", str(venv)], venv, clean_env())
    python = venv / "bin" / "python"
    run(
        [str(python), "-m", "pip", "install", "--quiet", "--only-binary=:all:", str(dist / WHEEL)],
        venv,
        clean_env(),
    )
    yield python


def test_the_wheel_runs_the_readme_integration_example_in_a_fresh_environment(
    fresh_env: Path, moto_server: str, tmp_path: Path
) -> None:
    import boto3

    from alexa_skill_metrics.storage.table import create_table

    # Given the metrics table on moto's server, and the README's example as a skill module
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    language, code = SNIPPETS["integration"]
    assert language == "python"
    (tmp_path / "my_skill.py").write_text(code)
    (tmp_path / "launch.json").write_text(json.dumps(load_event("alexa-launch")))
    driver = (
        "import json, alexa_skill_metrics, my_skill\n"
        "reply = my_skill.lambda_handler(json.load(open('launch.json')), None)\n"
        "print(json.dumps({'package': alexa_skill_metrics.__file__, 'reply': reply}))\n"
    )
    # When the fresh environment's Python runs it, as Lambda would call the handler
    env = clean_env(AWS_ENDPOINT_URL=moto_server, METRICS_TABLE=TABLE, METRICS_PSEUDONYM_KEY=KEY)
    out: dict[str, Any] = json.loads(run([str(fresh_env), "-c", driver], tmp_path, env).splitlines()[-1])
    # Then the package came from the installed wheel, the skill answered, and the event was recorded
    assert Path(out["package"]).is_relative_to(fresh_env.parent.parent)
    assert "Welcome!" in out["reply"]["response"]["outputSpeech"]["ssml"]
    events = [item for item in table_items(client, TABLE) if item["pk"]["S"].startswith("EVT#")]
    assert [e["request_type"]["S"] for e in events] == ["LaunchRequest"]


def test_the_readme_vendoring_command_installs_for_the_named_runtime(dist: Path, tmp_path: Path) -> None:
    # Given the README's command, run where the built wheel is at dist/
    language, command = SNIPPETS["vendor"]
    assert language == "bash"
    (tmp_path / "dist").mkdir()
    shutil.copy(dist / WHEEL, tmp_path / "dist" / WHEEL)
    env = clean_env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    run(["bash", "-euo", "pipefail", "-c", command], tmp_path, env)
    # Then the folder holds the package and its dependencies, anything compiled built for the
    # runtime and CPU the command names (CPython 3.12 on x86_64), not for this machine
    vendored = tmp_path / "build"
    for package in ("alexa_skill_metrics", "ask_sdk_core", "aws_lambda_powertools", "boto3"):
        assert (vendored / package / "__init__.py").is_file(), package
    assert "--python-version 3.12" in command and "manylinux2014_x86_64" in command
    compiled = sorted(vendored.rglob("*.so"))
    assert all(path.name.endswith(".cpython-312-x86_64-linux-gnu.so") for path in compiled), compiled
