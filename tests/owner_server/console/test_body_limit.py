"""Console request bodies: 1 MiB for forms; the upload size only for a logged-in admin on the upload routes."""

from __future__ import annotations

from owner_server.console.app import MAX_FORM_BYTES
from owner_server.models import Role


def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "x" * 20
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'.encode()
        + b"0" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_an_anonymous_large_body_is_refused_before_it_is_read(anonymous) -> None:
    body, kind = _multipart(MAX_FORM_BYTES + 1)
    for path in ("/login", "/import/upload", "/lists/dnc", "/logout"):
        answer = anonymous.post(path, content=body, headers={"content-type": kind}, follow_redirects=False)
        assert answer.status_code == 413, path
        assert "content-security-policy" in answer.headers


def test_a_streamed_body_without_a_length_is_cut_at_the_limit(anonymous) -> None:
    def chunks():  # noqa: ANN202
        for _ in range(3):
            yield b"a" * (MAX_FORM_BYTES // 2 + 1)

    answer = anonymous.post("/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413


def test_roles_without_the_right_get_the_form_limit_on_upload_routes(console_as) -> None:
    body, kind = _multipart(MAX_FORM_BYTES + 1)
    for role in (Role.AUDITOR, Role.SUPERVISOR):
        client = console_as(role)
        answer = client.post("/import/upload", content=body, headers={"content-type": kind}, follow_redirects=False)
        assert answer.status_code == 413, role


def test_an_admin_may_upload_more_than_a_form(console_as) -> None:
    admin = console_as(Role.ADMIN)
    body, kind = _multipart(MAX_FORM_BYTES + 1)
    answer = admin.post(
        "/import/upload",
        content=body,
        headers={"content-type": kind, "x-csrf-token": admin.csrf},
        follow_redirects=False,
    )
    assert answer.status_code != 413  # past the body limit: the import's own checks answer
    too_big_form = admin.post(
        "/logout", content=body, headers={"content-type": kind, "x-csrf-token": admin.csrf}, follow_redirects=False
    )
    assert too_big_form.status_code == 413
