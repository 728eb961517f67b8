"""``inpaint serve``'s command line: what it says at start, its checks, and where the package sits.

uvicorn's ``Server.run`` is replaced by a recorder here: nothing binds a port (the real server runs in
tests/serve/).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inpaint.cli.main import main

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(monkeypatch):
    """The uvicorn configs that ``inpaint serve`` would have run."""
    configs = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: configs.append(self.config))
    return configs


def test_default_binds_loopback_and_says_so(served, capsys):
    assert main(["serve"]) == 0
    err = capsys.readouterr().err
    (config,) = served
    assert (config.host, config.port) == ("127.0.0.1", 8080)
    assert "http://127.0.0.1:8080/ serves this machine only" in err and "warning" not in err
    assert config.timeout_graceful_shutdown == 25


def test_all_interfaces_without_token_warns_and_with_token_does_not(served, capsys):
    assert main(["serve", "--host", "0.0.0.0", "--port", "9000"]) == 0
    err = capsys.readouterr().err
    assert "every machine that can reach this one" in err
    assert "warning: --host 0.0.0.0 without --token" in err
    assert main(["serve", "--host", "0.0.0.0", "--token", "abc"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert len(served) == 2


@pytest.mark.parametrize("args,message", [
    (["--max-batch", "0"], "--max-batch 0: must be 1 or more"),
    (["--token", " "], "--token: empty"),
    (["--port", "70000"], "--port 70000: must be 0-65535"),
    (["--max-upload-mb", "0"], "--max-upload-mb > 0"),
    (["--model", "missing.onnx"], "missing.onnx"),
])
def test_bad_options_exit_2_before_serving(served, capsys, args, message):
    assert main(["serve", *args]) == 2
    assert message in capsys.readouterr().err
    assert not served


def test_serve_imports_no_torch_and_runtime_never_imports_serve():
    code = "import sys; sys.modules['torch'] = None; import inpaint.serve.app, inpaint.cli.serve"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    lower = [p for d in ("runtime", "models", "ops", "export", "trainer") for p in (REPO / "inpaint" / d).rglob("*.py")]
    assert lower and not [p for p in lower if "inpaint.serve" in p.read_text()]
