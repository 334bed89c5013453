"""Where the machine-wide config lives on Windows: the shell's ProgramData, never ``%PROGRAMDATA%``.

``SHGetKnownFolderPath`` exists only on Windows, so these tests give the
module a fake of ``shell32``/``ole32`` that implements the real calling
interface (a GUID by reference, a ``PWSTR*`` out parameter, an HRESULT,
the string freed with ``CoTaskMemFree``); that is the one edge faked here.
"""

import ctypes
from pathlib import Path, PureWindowsPath

import pytest

from agent_client import config as config_module
from agent_client import known_folder
from agent_client.config import SYSTEM_CONFIG_FILE_NAME, load_deployment_config, system_config_dir

from .test_config import toml


class FakeShell:
    """``shell32.SHGetKnownFolderPath`` and ``ole32.CoTaskMemFree`` as Windows calls them (the OS edge)."""

    def __init__(self, folder: str, result: int = 0) -> None:
        self._buffer = ctypes.create_unicode_buffer(folder)
        self.result = result
        self.asked_for: list[bytes] = []
        self.freed = 0

    def SHGetKnownFolderPath(self, rfid, dwFlags, hToken, ppszPath):  # noqa: N802, N803 - the Win32 names
        self.asked_for.append(bytes(rfid._obj))  # the GUID passed by reference
        if self.result == 0:
            ppszPath[0] = ctypes.cast(self._buffer, ctypes.c_wchar_p)
        return self.result

    def CoTaskMemFree(self, pv):  # noqa: N802
        self.freed += 1


@pytest.fixture
def windows(monkeypatch):
    monkeypatch.setattr(config_module.sys, "platform", "win32")
    monkeypatch.setenv("PROGRAMDATA", r"C:\Users\agent\fake")  # what a standard user can set


def test_the_shell_answers_and_the_environment_is_ignored(monkeypatch, windows):
    shell = FakeShell(r"D:\Machine Data")
    monkeypatch.setattr(known_folder, "windows_apis", lambda: (shell, shell))
    assert PureWindowsPath(system_config_dir()) == PureWindowsPath(r"D:\Machine Data\Custos")
    assert shell.asked_for == [known_folder.FOLDERID_PROGRAM_DATA.bytes_le]
    assert shell.freed == 1


def test_a_shell_error_falls_back_to_the_constant_not_the_environment(monkeypatch, windows):
    shell = FakeShell(r"D:\Machine Data", result=-2147024894)  # E_FILENOTFOUND-like HRESULT
    monkeypatch.setattr(known_folder, "windows_apis", lambda: (shell, shell))
    assert PureWindowsPath(system_config_dir()) == PureWindowsPath(r"C:\ProgramData\Custos")
    assert shell.freed == 1  # freed on failure too, as the API requires


def test_without_the_shell_dlls_the_constant_is_used(windows):
    assert known_folder.windows_apis() is None  # not Windows here: the real loader finds no WinDLL
    assert PureWindowsPath(system_config_dir()) == PureWindowsPath(r"C:\ProgramData\Custos")


def test_a_config_read_from_the_provisioned_file_is_marked_provisioned(tmp_path, monkeypatch, ca_pem):
    system = tmp_path / "system"
    system.mkdir()
    monkeypatch.setattr(config_module, "system_config_dir", lambda: system)
    body = toml(server_url="https://127.0.0.1:8443", organisation="Demo", ca_certificate=ca_pem)
    (system / SYSTEM_CONFIG_FILE_NAME).write_bytes(body)
    user = tmp_path / "user.toml"
    user.write_bytes(body)
    assert load_deployment_config(system / SYSTEM_CONFIG_FILE_NAME)[0].provisioned is True
    assert load_deployment_config(user)[0].provisioned is False
    assert load_deployment_config(Path(system / "." / SYSTEM_CONFIG_FILE_NAME))[0].provisioned is True
