"""A real ``inpaint serve`` in a subprocess on a free port, and the pictures the serve tests send it.

    with Server("--token", "T") as server:     # python -m inpaint.cli.main serve --port P --token T
        httpx.get(server.url + "/healthz")

The bundled default model (inpaint/assets/default.onnx, ONNX Runtime on the CPU) is loaded once per
server. ``server.log`` is what the process wrote (stdout and stderr), read back after it ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
#: seconds a server may take to import, load the model and answer /healthz on a loaded 2-core machine
START_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``inpaint serve --port <free> *args`` as a subprocess; :meth:`stop` sends SIGTERM and returns the exit code."""

    def __init__(self, *args: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["serve", "--port", str(self.port), *args]
        self.env = {**os.environ, **(env or {})}
        self._log = tempfile.TemporaryFile()
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        import httpx

        self.proc = subprocess.Popen([sys.executable, "-m", "inpaint.cli.main", *self.args], cwd=REPO, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"inpaint serve exited with {self.proc.returncode}:\n{self.log}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"inpaint serve did not answer /healthz within {START_S} s:\n{self.log}")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit code (killed after ``timeout`` s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    @property
    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._log.close()


def photo(h: int = 96, w: int = 128, seed: int = 0, dtype=np.uint8, channels: int = 3) -> np.ndarray:
    """A smooth gradient with a disc on it, (h, w, channels) RGB(A); noise so that no fill can copy it exactly."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    rgb = np.stack([xx, yy, (xx + yy) / 2], -1) * 0.8 + rng.random((h, w, 3)) * 0.2
    top = np.iinfo(dtype).max
    out = (rgb * top).astype(dtype)
    cv2.circle(out, (w // 2, h // 2), min(h, w) // 6, (top, 0, 0), -1)
    if channels == 4:
        out = np.dstack([out, rng.integers(0, top + 1, (h, w), dtype=np.int64).astype(dtype)])
    return out


def box_mask(h: int = 96, w: int = 128) -> np.ndarray:
    """(h, w) bool: the middle quarter (over the disc), True = remove."""
    hole = np.zeros((h, w), bool)
    hole[h * 3 // 8:h * 5 // 8, w * 3 // 8:w * 5 // 8] = True
    return hole


def png(pixels: np.ndarray, rgb: bool = True) -> bytes:
    """PNG bytes of RGB(A) pixels (``rgb``) or grey / a bool mask (white = True)."""
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8) * 255
    if rgb and pixels.ndim == 3:
        pixels = pixels[:, :, [2, 1, 0, 3][:pixels.shape[2]]]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(pixels))
    assert ok
    return buf.tobytes()


def decode_png(data: bytes, rgb: bool = True) -> np.ndarray:
    """The pixels of a PNG answer, RGB(A) order, dtype as stored."""
    out = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert out is not None, "the answer is not a decodable image"
    if rgb and out.ndim == 3:
        out = out[:, :, [2, 1, 0, 3][:out.shape[2]]]
    return out
