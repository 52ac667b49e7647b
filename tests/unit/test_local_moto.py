"""``infra/local_moto.py``: ``stop`` gives the shell back the AWS settings ``start`` replaced."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def shell(script: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-c", script], check=True, env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    return done.stdout


def test_stop_restores_the_environment_start_replaced() -> None:
    from tests.e2e.test_demo_keep_e2e import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_PROFILE": "mine", "AWS_DEFAULT_REGION": "eu-west-1", "PY": sys.executable}
    script = f"""
        eval "$("$PY" infra/local_moto.py start --port {port})"
        echo "during=$AWS_ACCESS_KEY_ID,${{AWS_PROFILE-unset}}"
        eval "$("$PY" infra/local_moto.py stop --port {port})"
        echo "after=${{AWS_ACCESS_KEY_ID-unset}},${{AWS_SECRET_ACCESS_KEY-unset}},\
${{AWS_ENDPOINT_URL-unset}},$AWS_PROFILE,$AWS_DEFAULT_REGION"
    """
    out = shell(script, env)
    assert "during=local,unset" in out
    assert "after=unset,unset,unset,mine,eu-west-1" in out
