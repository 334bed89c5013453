"""The import pages: upload, preview with masked samples, re-mapping, a run with progress, the report."""

from __future__ import annotations

import json
import re
import time

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from owner_server.cli.main import build_app
from owner_server.console import uploads
from owner_server.console.jobs import ImportJob, sweep_jobs
from owner_server.console.uploads import ABANDONED_AFTER
from owner_server.core.db import session_scope
from owner_server.models import AuditEntry, Contact, ContactState, Role

from ..helpers import seed

HEADER = "Imię;Nazwisko;Telefon;Miasto;Grupa"
ROWS = [
    "Łucja;Żółkiewicz-Ćwik;500 000 001;Łódź;A",
    "Świętosław;Grzegorzewski;600-000-002;Gdańsk;B",
    "Żaneta;Brzęczyszczykiewicz;12;Kraków;A",  # a phone that cannot be a number: rejected
    "Ewelina;Nowak;+48 500 000 001;Poznań;C",  # the first one's number again: a duplicate
]
SECRETS = (
    "Żółkiewicz",
    "Grzegorzewski",
    "Brzęczyszczykiewicz",
    "500 000 001",
    "500000001",
    "600-000-002",
    "Świętosław",
    "Łódź",
)


def _csv(tmp_path, name="lista.csv", lines=None, encoding="cp1250"):
    path = tmp_path / name
    path.write_bytes(("\r\n".join([HEADER, *(ROWS if lines is None else lines)]) + "\r\n").encode(encoding))
    return path


@pytest.fixture
def admin(installation, console_as):
    seed(installation, agents=(), contacts=[])
    return console_as(Role.ADMIN, login="anna")


def _upload(client, path, campaign="Camp", content_type="text/csv"):
    with path.open("rb") as fh:
        return client.post(
            "/import/upload",
            data={"campaign": campaign, "region": "PL", "csrf_token": client.csrf},
            files={"file": (path.name, fh, content_type)},
            follow_redirects=False,
        )


def _job_id(answer) -> str:
    assert answer.status_code == 303, answer.text
    match = re.fullmatch(r"/import/jobs/([\w-]+)", answer.headers["location"])
    assert match
    return match.group(1)


def _wait(client, job_id, timeout=30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fragment = client.get(f"/import/jobs/{job_id}/progress", headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        if 'value="100"' in fragment.text:
            assert "hx-get" not in fragment.text  # the finished fragment stops polling
            return fragment.text
        assert "data-poll" in fragment.text
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def _private_files(installation):
    return list(uploads.private_dir(installation.settings.data_dir).iterdir())


def _count(html: str, name: str) -> int:
    match = re.search(rf'data-count="{name}">(\d+)<', html)
    assert match, name
    return int(match.group(1))


def test_the_preview_shows_encoding_delimiter_mapping_and_only_masked_samples(installation, admin, tmp_path) -> None:
    job = _job_id(_upload(admin, _csv(tmp_path)))
    page = admin.get(f"/import/jobs/{job}")
    assert page.status_code == 200
    html = page.text
    assert '<dd class="intake-encoding">cp1250</dd>' in html
    assert "<code>;</code>" in html
    assert re.search(r'name="map_2"[^>]*>.*?<option value="phone" selected>', html, re.S)
    assert re.search(r'name="map_1"[^>]*>.*?<option value="last_name" selected>', html, re.S)
    assert re.search(r'name="map_4"[^>]*>.*?<option value="extra" selected>extra:grupa</option>', html, re.S)
    for secret in SECRETS:
        assert secret not in html, secret
    assert "Ż•••••••" in html  # a surname keeps its first letter
    assert "•••••••01" in html or "••••••••01" in html  # a phone keeps its last two digits
    assert " style=" not in html and "<script>" not in html and " onclick" not in html
    files = _private_files(installation)
    assert len(files) == 1 and (files[0].stat().st_mode & 0o777) == 0o600
    assert (files[0].parent.stat().st_mode & 0o777) == 0o700


def test_a_changed_mapping_is_shown_again_and_used_by_the_run(installation, admin, tmp_path) -> None:
    job = _job_id(_upload(admin, _csv(tmp_path)))
    mapping = {"map_0": "first_name", "map_1": "last_name", "map_2": "phone", "map_3": "ignore", "map_4": "notes"}
    assert admin.post_form("/import/preview", {"job": job, **mapping}).status_code == 303
    html = admin.get(f"/import/jobs/{job}").text
    assert re.search(r'name="map_4" class="intake-chosen">.*?<option value="notes" selected>', html, re.S)
    assert re.search(r'name="map_3" class="intake-chosen">.*?<option value="ignore" selected>', html, re.S)
    assert admin.post_form("/import/run", {"job": job, **mapping}).status_code == 303
    report = _wait(admin, job)
    assert "column 5 &#34;Grupa&#34; -&gt; notes (set by --map)" in report
    assert "column 4 &#34;Miasto&#34; -&gt; (ignored) (set by --map)" in report
    with session_scope(installation.engine) as session:
        contacts = session.exec(select(Contact).where(Contact.state == ContactState.NEW)).all()
        cipher = installation.keys.campaign_key(session, campaign_id=contacts[0].campaign_id).cipher
        values = [cipher.decrypt_fields(c.ref, c.payload) for c in contacts]
    assert len(values) == 2
    assert {v["notes"] for v in values} == {"A", "B"} and all("city" not in v for v in values)


def test_a_mapping_that_cannot_work_is_one_sentence_and_keeps_the_preview(admin, tmp_path) -> None:
    job = _job_id(_upload(admin, _csv(tmp_path)))
    both = {"map_0": "city", "map_1": "city"}
    admin.post_form("/import/preview", {"job": job, **both})
    html = admin.get(f"/import/jobs/{job}").text
    assert "two columns" in html and 'name="map_0"' in html
    refused = admin.post_form("/import/preview", {"job": job, "map_0": "no_such_field"})
    assert refused.status_code == 400 and "from the list" in refused.text


def test_the_run_reaches_100_and_reports_what_the_cli_reports(installation, admin, tmp_path, monkeypatch) -> None:
    path = _csv(tmp_path)
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(installation.settings.data_dir))
    cli = CliRunner().invoke(build_app(), ["import", str(path), "--campaign", "Camp", "--dry-run", "--json"])
    assert cli.exit_code == 0, cli.stderr
    expected = json.loads(cli.stdout)
    job = _job_id(_upload(admin, path))
    admin.post_form("/import/run", {"job": job})
    report = _wait(admin, job)
    assert _count(report, "imported") == expected["imported"] == 2
    assert _count(report, "rejected") == expected["rejected"] == 1
    assert _count(report, "duplicates") == expected["duplicates"] == 1
    assert _count(report, "blank") == expected["blank_records_skipped"]
    for row in expected["rejected_records"]:
        assert f'<tr class="intake-reject"><td>{row["record"]}</td><td>{row["code"]}</td>' in report
    for dup in expected["duplicate_records"]:
        assert f"<td>{dup['record']}</td>" in report
    for secret in SECRETS:
        assert secret not in report
    with session_scope(installation.engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "contacts_imported")).one()
        assert entry.actor == "admin:anna"
    assert _private_files(installation) == []  # the upload is deleted once run
    again = admin.post_form("/import/run", {"job": job})
    assert again.status_code == 303  # a second run of the same upload does nothing
    with session_scope(installation.engine) as session:
        assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "contacts_imported")).all()) == 1


def test_a_dry_run_reports_and_writes_nothing(installation, admin, tmp_path) -> None:
    job = _job_id(_upload(admin, _csv(tmp_path)))
    admin.post_form("/import/run", {"job": job, "dry_run": "1"})
    report = _wait(admin, job)
    assert "Would import 2" in report
    with session_scope(installation.engine) as session:
        assert session.exec(select(Contact)).all() == []


def test_the_shared_cp1250_case_imports_with_its_polish_names(installation, admin, cases_dir) -> None:
    job = _job_id(_upload(admin, cases_dir / "case01_cp1250_semicolon.csv"))
    html = admin.get(f"/import/jobs/{job}").text
    assert "cp1250" in html and "Żółkiewicz" not in html and "+48500000001" not in html
    admin.post_form("/import/run", {"job": job})
    assert _count(_wait(admin, job), "imported") == 4


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\x00endobj\n", "a PDF document"),
        ("header.csv", "Imię;Telefon\r\n".encode("cp1250"), "header but no records"),
        ("empty.csv", b"", "no header row"),
        ("people.csv", "Imię;Nazwisko\r\nJan;Kowalski\r\n".encode("cp1250"), "No column looks like a phone"),
        ("noheader.csv", b"Jan;500000001\r\nEwa;600000002\r\n", "not column names"),
        ("book.xlsx", b"not a workbook at all", "not a valid XLSX"),
    ],
)
def test_a_bad_file_is_one_clear_sentence_and_imports_nothing(installation, admin, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    answer = _upload(admin, path)
    assert answer.status_code == 400
    errors = re.findall(r'<p class="error" role="alert">([^<]+)</p>', answer.text)
    assert len(errors) == 1 and errors[0].endswith(".")
    if message:
        assert message in errors[0]
    assert "Traceback" not in answer.text and "500000001" not in answer.text
    assert _private_files(installation) == [] and not any(isinstance(j, ImportJob) for j in _jobs(admin))
    with session_scope(installation.engine) as session:
        assert session.exec(select(Contact)).all() == []


def _jobs(client):
    return list(client.app.state.console.jobs.values())


def test_an_upload_nobody_runs_is_deleted_later(installation, admin, tmp_path) -> None:
    job = _job_id(_upload(admin, _csv(tmp_path)))
    state = admin.app.state.console
    sweep_jobs(state)
    assert len(_private_files(installation)) == 1
    sweep_jobs(state, now=time.time() + ABANDONED_AFTER + 1)
    assert _private_files(installation) == [] and job not in state.jobs
    assert admin.get(f"/import/jobs/{job}").status_code == 404


def test_an_upload_over_the_limit_is_refused_and_not_stored(installation, admin, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 64)
    answer = _upload(admin, _csv(tmp_path))
    assert answer.status_code == 413
    assert _private_files(installation) == []


def test_another_admin_does_not_see_the_job_and_an_unknown_campaign_is_refused(admin, console_as, tmp_path) -> None:
    job = _job_id(_upload(admin, _csv(tmp_path)))
    other = console_as(Role.ADMIN, login="piotr")
    assert other.get(f"/import/jobs/{job}").status_code == 404
    assert other.post_form("/import/run", {"job": job}).status_code == 404
    assert _upload(admin, _csv(tmp_path), campaign="Nope").status_code == 404


def test_the_start_page_lists_campaigns_and_states_the_limit(admin) -> None:
    page = admin.get("/import")
    assert page.status_code == 200
    assert '<option value="Camp"' in page.text and "200 MiB" in page.text
    assert 'enctype="multipart/form-data"' in page.text


@pytest.mark.parametrize(
    ("value", "field", "shown"),
    [
        ("Żółkiewicz-Ćwik", "last_name", "Ż••••••••"),
        ("Jan Maria", "first_name", "J•• M••••"),
        ("A", "first_name", "•"),
        ("500 000 001", "phone", "••••••••01"),
        ("+48 600-000-002", "extra:telefon_domowy", None),
        ("90010112345", "pesel", "••••••"),  # eleven digits in a row may be a phone: nothing kept
        ("C-12345", "customer_id", "•••••45"),
        ("call me at 500 000 001", "notes", "••••••"),
        ("ul. Polna 12", "address", "u•• P•••• ••"),
        ("", "city", ""),
    ],
)
def test_a_sample_cell_is_never_shown_whole(value, field, shown) -> None:
    from owner_server.console.import_preview import mask_sample

    masked = mask_sample(value, field)
    if shown is not None:
        assert masked == shown
    if value:
        assert masked != value and value not in masked
    digits = "".join(c for c in value if c.isdigit())
    assert sum(c.isdigit() for c in masked) <= (2 if len(digits) > 4 else 0)


def test_the_pages_speak_polish(admin, tmp_path) -> None:
    admin.cookies.set("custos-lang", "pl")
    assert "Import listy kontaktów" in admin.get("/import").text
    job = _job_id(_upload(admin, _csv(tmp_path)))
    page = admin.get(f"/import/jobs/{job}").text
    assert "Kodowanie" in page and "Importuj z tym przypisaniem" in page
    assert "Lista zastrzeżonych numerów" in admin.get("/lists").text


FLOAT_ROWS = ["Łucja;Żółkiewicz;500000001.0;Łódź;A", "Jan;Nowak;600000002.5;Gdańsk;B"]


def test_float_artefacts_are_accepted_only_when_ticked_as_on_the_cli(installation, admin, tmp_path) -> None:
    """Issue 10: the console's run has the CLI's --accept-float-artefacts; only an exact .0 tail is read."""
    page = admin.get(f"/import/jobs/{_job_id(_upload(admin, _csv(tmp_path, 'a.csv', FLOAT_ROWS)))}").text
    assert 'name="accept_float_artefacts"' in page and "checked" not in page
    plain = _job_id(_upload(admin, _csv(tmp_path, "b.csv", FLOAT_ROWS)))
    admin.post_form("/import/run", {"job": plain, "dry_run": "1"})
    report = _wait(admin, plain)
    assert _count(report, "imported") == 0 and _count(report, "rejected") == 2
    assert '<tr class="intake-reject"><td>1</td><td>decimal_number</td>' in report
    ticked = _job_id(_upload(admin, _csv(tmp_path, "c.csv", FLOAT_ROWS)))
    admin.post_form("/import/run", {"job": ticked, "accept_float_artefacts": "1"})
    report = _wait(admin, ticked)
    assert _count(report, "imported") == 1 and _count(report, "rejected") == 1 and _count(report, "warnings") == 1
    assert '<tr class="intake-warning"><td>1</td><td>repaired_float_artefact</td>' in report
    assert '<tr class="intake-reject"><td>2</td>' in report  # another decimal: still rejected
    assert "500000001" not in report and "Żółkiewicz" not in report
    with session_scope(installation.engine) as session:
        assert len(session.exec(select(Contact)).all()) == 1


def test_the_float_artefacts_option_speaks_polish(admin, tmp_path) -> None:
    admin.cookies.set("custos-lang", "pl")
    page = admin.get(f"/import/jobs/{_job_id(_upload(admin, _csv(tmp_path)))}").text
    assert "Przyjmij artefakty liczb z arkusza" in page
