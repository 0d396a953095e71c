"""Where the embedded Redis keeps its socket: under VAR_DIR, beside its database, unless the
path would not fit a unix socket address (107 bytes), in which case the system's temporary
directory, saying so."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pytest

from service.store.redis.embedded import (
    FOLDER_PREFIX,
    MAX_SOCKET_PATH_BYTES,
    SOCKET_NAME,
    server_folder,
)


@pytest.fixture
def system_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    temp = tmp_path / "t"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def test_the_socket_folder_is_under_var_dir(tmp_path: Path, system_temp: Path) -> None:
    var_dir = tmp_path / "v"
    var_dir.mkdir()
    folder = server_folder(var_dir)
    assert folder.parent == var_dir and folder.name.startswith(FOLDER_PREFIX)
    assert len(os.fsencode(folder / SOCKET_NAME)) <= MAX_SOCKET_PATH_BYTES
    assert list(system_temp.iterdir()) == []


def test_a_var_dir_too_deep_for_a_socket_falls_back_to_the_temp_dir_and_says_so(
    tmp_path: Path, system_temp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    deep = tmp_path / ("d" * (MAX_SOCKET_PATH_BYTES - len(os.fsencode(tmp_path))))
    deep.mkdir()
    with caplog.at_level(logging.WARNING):
        folder = server_folder(deep)
    assert folder.parent == system_temp and folder.name.startswith(FOLDER_PREFIX)
    assert list(deep.iterdir()) == []  # the folder tried there is not left behind
    [record] = caplog.records
    assert str(deep) in record.getMessage() and str(folder / SOCKET_NAME) in record.getMessage()
    assert "VAR_DIR" in record.getMessage()


def test_the_longest_path_that_fits_stays_under_var_dir(tmp_path: Path, system_temp: Path) -> None:
    suffix = len("/" + FOLDER_PREFIX + "12345678/" + SOCKET_NAME)
    exact = tmp_path / ("e" * (MAX_SOCKET_PATH_BYTES - suffix - len(os.fsencode(tmp_path)) - 1))
    exact.mkdir()
    folder = server_folder(exact)
    assert len(os.fsencode(folder / SOCKET_NAME)) == MAX_SOCKET_PATH_BYTES
    assert folder.parent == exact
