"""`make lab` starts JupyterLab on the notebooks and the server answers on localhost."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_make_lab_serves_jupyterlab_on_localhost(tmp_path):
    port = _free_port()
    lab_args = (
        f"--no-browser --port={port} --ip=127.0.0.1 --IdentityProvider.token= "
        f"--ServerApp.runtime_dir={tmp_path}"
    )
    env = os.environ | {"JUPYTER_CONFIG_DIR": str(tmp_path), "JUPYTER_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_ARGS={lab_args}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=5) as page:
                    assert page.status == 200
                    assert "JupyterLab" in page.read().decode()
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/contents", timeout=5
                ) as listing:
                    names = {item["name"] for item in json.load(listing)["content"]}
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s"
                time.sleep(1)
        # The server's root is notebooks/.
        assert "00_start_here.ipynb" in names
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
