"""gunicorn with deploy/gunicorn.conf.py writes one JSON object a line on both of its logs,
whatever a client puts in the path or the headers: gunicorn itself only escapes the double
quotes in the values of its access log template."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote_to_bytes

from hypothesis import given
from hypothesis import strategies as st

from service.gunicorn_logging import JsonSafeAtoms
from tests.support import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
# Percent-escapes in the path are decoded into PATH_INFO: CR, LF, ESC, NUL, a quote and a
# backslash, DEL, NEL, U+2028 and a right-to-left override.
PATH = "/no/such%0D%0A%7B%22level%22:%22x%22%7D%1B[2J%00%22%5C%7F%C2%85%E2%80%A8%E2%80%AE\\end"
# Header values may carry any byte but CR, LF and NUL; ESC, DEL and Latin-1 controls pass.
HEADER = b'a"b\\c\x1b[31m\x7f\x85\x9bd'


def _raw_request(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET " + path.encode("latin-1") + b" HTTP/1.1\r\nHost: x\r\n"
            b"User-Agent: " + HEADER + b"\r\nReferer: " + HEADER + b"\r\n"
            b"X-Forwarded-For: " + HEADER + b"\r\nConnection: close\r\n\r\n"
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        return reply


def test_every_gunicorn_log_line_is_one_json_object(tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    run_env = {**os.environ, **env, "PORT": str(port), "WEB_CONCURRENCY": "1"}
    run_env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    (tmp_path / "metrics").mkdir()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                # Every request-derived atom, besides the default template's.
                "--access-logformat",
                '{"r":"%(r)s","m":"%(m)s","U":"%(U)s","q":"%(q)s","a":"%(a)s","f":"%(f)s",'
                '"xff":"%({x-forwarded-for}i)s","s":%(s)s}',
                "service:create_app()",
            ],
            cwd=ROOT,
            env=run_env,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            wait_until_ready(f"http://127.0.0.1:{port}/healthz", process)
            assert b" 404 " in _raw_request(port, PATH + "?q=%0A%1B\\x")
            assert b" 200 " in _raw_request(port, "/healthz?x=%E2%80%A8\x7f")
        finally:
            process.terminate()
            process.wait(timeout=30)

    access = out.read_text("utf-8").splitlines()
    errors = err.read_text("utf-8").splitlines()
    for line in access + errors:
        json.loads(line)  # each whole line, split wherever any reader would split it
    entries = [json.loads(line) for line in access]
    odd = next(e for e in entries if e["U"].startswith("/no/such"))
    # PATH_INFO is the decoded bytes as Latin-1 text (PEP 3333), logged exactly.
    assert odd["U"] == unquote_to_bytes(PATH).decode("latin-1")
    assert odd["a"] == odd["f"] == odd["xff"] == HEADER.decode("latin-1")
    assert odd["q"] == "q=%0A%1B\\x" and odd["s"] == 404
    assert any("Booting worker" in json.loads(line)["message"] for line in errors)


@given(st.dictionaries(st.text(), st.one_of(st.text(), st.integers(), st.none())))
def test_any_atom_fits_a_json_string(atoms: dict[str, object]) -> None:
    safe = JsonSafeAtoms(atoms)
    for key, value in atoms.items():
        if isinstance(value, str) and not key.startswith("{"):
            line = '{"v":"%s"}' % safe[key]  # noqa: UP031 - the way gunicorn fills it
            assert len(line.splitlines()) == 1 and json.loads(line) == {"v": value}
