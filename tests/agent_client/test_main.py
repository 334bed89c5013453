import subprocess
import sys

import pytest


def run_client(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "agent_client.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "", "HOME": "/nonexistent"},
        check=False,
    )


@pytest.mark.parametrize("content", ["server_url = 1", "not toml ["])
def test_bad_config_is_a_clear_message_without_traceback(tmp_path, content):
    path = tmp_path / "deployment.toml"
    path.write_text(content)
    result = run_client("--config", str(path), "--ephemeral-keyring")
    assert result.returncode == 2
    assert "deployment configuration" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_keyring_is_a_clear_message(tmp_path, ca_pem):
    import tomli_w

    path = tmp_path / "deployment.toml"
    path.write_text(tomli_w.dumps({"server_url": "https://127.0.0.1:1", "organisation": "O", "ca_certificate": ca_pem}))
    result = subprocess.run(
        [sys.executable, "-m", "agent_client.main", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "QT_QPA_PLATFORM": "offscreen",
            "PATH": "",
            "HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path / "conf"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        },
        check=False,
    )
    assert result.returncode == 1
    assert "keyring" in result.stderr
    assert "Traceback" not in result.stderr
