"""``telephony.toml``: defaults, the ARI section, and a bad file reported in one line."""

from __future__ import annotations

import pytest

from owner_server.telephony.settings import load_telephony_settings
from shared.errors import ValidationError


def test_no_file_means_no_telephony(tmp_path):
    assert load_telephony_settings(tmp_path).provider == "none"


def test_ari_with_password_file(tmp_path):
    (tmp_path / "pw").write_text("s3cret-ari\n", encoding="utf-8")
    (tmp_path / "telephony.toml").write_text(
        'provider = "ari"\n[ari]\nurl = "http://pbx:8088/ari/"\nuser = "custos"\n'
        f'password_file = "{tmp_path / "pw"}"\n',
        encoding="utf-8",
    )
    settings = load_telephony_settings(tmp_path)
    assert settings.ari is not None and settings.ari.url == "http://pbx:8088"
    assert settings.ari.secret() == "s3cret-ari" and settings.ari.trunk_endpoint == "PJSIP/{number}@owner-trunk"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('provider = "asterisk"', "provider"),
        ('provider = "ari"', "[ari] section"),
        ('provider = "ari"\n[ari]\nurl = "http://pbx:8088"\nuser = "u"', "exactly one of password"),
        ('provider = "ari"\n[ari]\nurl = "http://u:p@pbx:8088"\nuser = "u"\npassword = "x"', "without credentials"),
        (
            'provider = "ari"\n[ari]\nurl = "http://pbx"\nuser = "u"\npassword = "x"\ntrunk_endpoint = "PJSIP/x"',
            "{number}",
        ),
        ("provider = ", "not valid"),
        ("[simulated]\nanswer_rate = 0.9\nbusy_rate = 0.2", "must not exceed 1"),
    ],
)
def test_bad_file_is_one_clear_line(tmp_path, text, says):
    (tmp_path / "telephony.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_telephony_settings(tmp_path)
    assert says in caught.value.message and "\n" not in caught.value.message


def test_serve_refuses_a_bad_file_in_one_line(installation):
    from typer.testing import CliRunner

    from owner_server.cli.main import build_app

    (installation.settings.data_dir / "telephony.toml").write_text('provider = "pbx"', encoding="utf-8")
    done = CliRunner().invoke(build_app(), ["serve", "--data-dir", str(installation.settings.data_dir)])
    assert done.exit_code == 2 and "telephony.toml is not valid" in done.output and "Traceback" not in done.output
