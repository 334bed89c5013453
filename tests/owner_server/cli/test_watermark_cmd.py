"""``watermark decode`` on a screenshot of the real record window, as captured, scaled, rotated and JPEG-compressed.

The record is issued by the real agent API (TestClient over the test
installation), shown in the real :class:`RecordWindow` (Qt offscreen),
grabbed to PNG and read back through the CLI against the same data dir.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from sqlmodel import Session, select
from typer.testing import CliRunner

from agent_client.views.record_window import RecordWindow
from owner_server.audit import watermark
from owner_server.cli.main import build_app
from owner_server.models import AuditEntry, Lease
from shared.protocol import RecordView

from ..helpers import seed, stored_ref
from ..test_agent_api import API, logged_in

pytestmark = pytest.mark.gui


@pytest.fixture
def issued(installation, client) -> RecordView:
    headers = logged_in(client, seed(installation))
    return RecordView.model_validate(client.post(f"{API}/next", headers=headers, json={}).json()["record"])


@pytest.fixture
def screenshot(qtbot, qapp, issued, tmp_path) -> Image.Image:
    window = RecordWindow("agent1", "Test Owner", qapp.clipboard())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.show_record(issued)
    path = tmp_path / "screen.png"
    assert window.grab().save(str(path), "PNG")
    window.close()
    return Image.open(path).convert("RGB")


@pytest.fixture
def run(installation, monkeypatch):
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(installation.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    app, runner = build_app(), CliRunner()
    return lambda *args: runner.invoke(app, ["watermark", "decode", *map(str, args)])


def _save(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def _scaled(img: Image.Image) -> Image.Image:
    return img.resize((img.width // 2, img.height // 2), Image.Resampling.BILINEAR)


def _rotated(img: Image.Image) -> Image.Image:
    return img.rotate(15, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))


PHOTOS = {
    "png": lambda img, p: _save(img, p / "a.png"),
    "scaled_50": lambda img, p: _save(_scaled(img), p / "a.png"),
    "rotated_15": lambda img, p: _save(_rotated(img), p / "a.png"),
    "jpeg_q60": lambda img, p: _save(img, p / "a.jpg", quality=60),
    "scaled_rotated_jpeg": lambda img, p: _save(_rotated(_scaled(img)), p / "a.jpg", quality=75),
}


def _decodes(installation) -> list[AuditEntry]:
    with Session(installation.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == "watermark_decoded")).all())


@pytest.mark.parametrize("photo", sorted(PHOTOS))
def test_a_screenshot_names_agent_contact_campaign_and_time(installation, issued, screenshot, run, tmp_path, photo):
    result = run(PHOTOS[photo](screenshot, tmp_path), "--json")
    assert result.exit_code == 0, result.stderr
    [code] = json.loads(result.stdout)["codes"]
    with Session(installation.engine) as session:
        lease = session.get(Lease, issued.lease_id)
    assert code == {
        "lease_id": issued.lease_id,
        "agent_id": lease.user_id,
        "issued_at": lease.issued_at.replace(microsecond=0).isoformat(),
        "found": True,
        "agent": "agent1",
        "outsourcer": "BPO",
        "contact_ref": stored_ref(installation, issued.lease_id),
        "campaign": "Camp",
    }
    [entry] = _decodes(installation)
    assert entry.actor == "admin:cli" and entry.object_type == "contact"
    assert entry.object_id == code["contact_ref"]
    assert json.loads(entry.details)["lease_id"] == issued.lease_id


def test_the_text_report_and_the_contacts_lookup(installation, issued, screenshot, run, tmp_path):
    result = run(_save(screenshot, tmp_path / "s.png"))
    assert result.exit_code == 0, result.stderr
    ref = stored_ref(installation, issued.lease_id)
    for needle in (issued.lease_id, "agent1", "BPO", ref, "Camp", f"{issued.issued_at:%Y-%m-%d %H:%M:%S} UTC"):
        assert needle in result.stdout
    looked_up = CliRunner().invoke(build_app(), ["lookup", "--contact", ref, "--json"])
    [contact] = json.loads(looked_up.stdout)["contacts"]
    decoded = [e for e in contact["events"] if e["action"] == "watermark_decoded"]
    assert [e["actor"] for e in decoded] == ["admin:cli"]


def _qr_png(payload: bytes, path: Path) -> Path:
    buffer = io.BytesIO()
    segno.make_qr(payload, error="m", mode="byte").save(buffer, kind="png", scale=4, border=4)
    path.write_bytes(buffer.getvalue())
    return path


def _one_line_error(result, needle: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_code_signed_by_another_installation_is_refused(installation, issued, run, tmp_path):
    claims = watermark.read_claims(watermark.decode_code(issued.watermark_code))
    theirs = watermark.sign_claims(Ed25519PrivateKey.generate(), claims)
    _one_line_error(run(_qr_png(theirs, tmp_path / "forged.png")), "not signed by this installation")
    assert _decodes(installation) == []


def test_an_altered_code_is_refused(installation, issued, run, tmp_path):
    token = bytearray(watermark.decode_code(issued.watermark_code))
    token[1] ^= 0x02  # another agent id
    _one_line_error(run(_qr_png(bytes(token), tmp_path / "altered.png")), "not signed by this installation")
    assert _decodes(installation) == []


def test_an_image_without_a_code_is_one_line(installation, issued, run, tmp_path):
    blank = _save(Image.new("RGB", (640, 480), (255, 255, 255)), tmp_path / "blank.png")
    _one_line_error(run(blank), "no Custos watermark code")
    other = _qr_png(b"https://example.org/not-ours", tmp_path / "other.png")
    _one_line_error(run(other), "no Custos watermark code")


@pytest.mark.parametrize("name", ["text.png", "truncated.png", "missing.png", "."])
def test_an_unreadable_file_is_one_line(installation, screenshot, run, tmp_path, name):
    (tmp_path / "text.png").write_text("not an image")
    png = io.BytesIO()
    screenshot.save(png, format="PNG")
    (tmp_path / "truncated.png").write_bytes(png.getvalue()[:200])
    _one_line_error(run(tmp_path / name), "cannot be read as an image")
    assert _decodes(installation) == []


def test_only_photo_formats_are_opened(installation, screenshot, run, tmp_path):
    """Red team: Pillow would hand an EPS to Ghostscript; only photo and screenshot formats are read."""
    eps = tmp_path / "photo.eps"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    _one_line_error(run(eps), "cannot be read as an image")
    ico = tmp_path / "shot.ico"
    screenshot.resize((64, 64)).save(ico, format="ICO")
    _one_line_error(run(ico), "cannot be read as an image")


def test_a_forged_code_beside_a_genuine_one_is_named(installation, issued, screenshot, run, tmp_path):
    claims = watermark.read_claims(watermark.decode_code(issued.watermark_code))
    theirs = watermark.sign_claims(Ed25519PrivateKey.generate(), claims)
    forged = Image.open(_qr_png(theirs, tmp_path / "forged.png")).convert("RGB")
    both = Image.new("RGB", (screenshot.width + forged.width + 40, max(screenshot.height, forged.height)), "white")
    both.paste(screenshot.convert("RGB"), (0, 0))
    both.paste(forged, (screenshot.width + 40, 0))
    result = run(_save(both, tmp_path / "both.png"))
    assert result.exit_code == 0, result.stderr
    assert "1 of 2 codes in the image are not signed by this installation" in result.stdout + result.stderr
