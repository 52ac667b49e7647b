"""``skill-metrics demo --keep``: the demo's data stays in a local server and the commands the demo
prints work against it, pasted into a shell as a newcomer would (real processes, real HTTP)."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def skill_metrics(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alexa_skill_metrics", *args],
        check=False, env=env, cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_the_commands_a_kept_demo_prints_work_against_its_data(tmp_path: Path) -> None:
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "METRICS_"))}
    env["COLUMNS"] = "80"
    try:
        # When the demo runs with --keep (small, for speed)
        demo = skill_metrics(
            "demo", "--keep", "--port", port, "--customers", "20", "--days", "2", env=env, cwd=tmp_path
        )
        assert demo.returncode == 0, demo.stderr
        lines = [line.strip() for line in demo.stdout.splitlines()]
        exports = [line for line in lines if line.startswith(("export ", "unset "))]
        commands = [line for line in lines if line.startswith("skill-metrics ")]
        assert len(commands) == 3 and f"demo --stop --port {port}" in demo.stdout
        # Then, in a shell that ran the printed exports, each printed command works on the demo's data
        shell_env = dict(env)
        for line in exports:
            if line.startswith("export "):
                name, value = line.removeprefix("export ").split("=", 1)
                shell_env[name] = value
        outputs = []
        for command in commands:
            args = shlex.split(command)[1:]
            done = skill_metrics(*args, env=shell_env, cwd=tmp_path)
            assert done.returncode == 0, (command, done.stderr)
            outputs.append(done.stdout)
        overview, sessions_by_hour, dashboard = outputs
        assert "Overview" in overview and "hint:" not in overview
        assert max(len(line.rstrip()) for line in overview.splitlines()) <= 80
        assert "totalSessions" in sessions_by_hour
        assert (tmp_path / "metrics.html").stat().st_size > 100_000 and "wrote" in dashboard
        # And running the demo again replaces the data rather than adding to it
        as_json = [*shlex.split(commands[0])[1:], "--json"]
        first = json.loads(skill_metrics(*as_json, env=shell_env, cwd=tmp_path).stdout)
        again = skill_metrics(
            "demo", "--keep", "--port", port, "--customers", "20", "--days", "2", env=env, cwd=tmp_path
        )
        assert again.returncode == 0, again.stderr
        second = json.loads(skill_metrics(*as_json, env=shell_env, cwd=tmp_path).stdout)
        assert second["utterances"]["total"] == first["utterances"]["total"] > 0
    finally:
        stopped = skill_metrics("demo", "--stop", "--port", port, env=env, cwd=tmp_path)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", int(port)), timeout=0.5):
        pass
