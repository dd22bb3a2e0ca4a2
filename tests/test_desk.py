"""The web desk through Django's test client: sign-in, roles, CSRF, CSP, no caching, no personal data in URLs,
and the whole resolution of a held document (the real pipeline's output, copied per test)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from desk_fixtures import PASSWORD, UNSURE_HETU_TRUTH, Fresh
from desk_fixtures import client as _client
from desk_fixtures import documents as _documents
from smtp_fixtures import AGENCY

from intake.config import Config
from intake.store import open_store
from intake.transport import Outbox

URLS = re.compile(r'(?:href|src|action|data-status|data-live)="([^"]*)"')
SAFE_URL = re.compile(
    r"^(#main|/|/signin|/signout|/language|/upload|/rows|/status\.json|/static/desk/[a-z.]+|/admin/(rules|audit)"
    r"|/documents/[0-9a-f-]{36}(/act|/explain|/pages/\d+\.png|/crops/[a-z_]+\.png)?)$"
)


@pytest.mark.parametrize(
    "path",
    ["/", "/rows", "/rows?since=20260101.1.0.000000", "/status.json", "/admin/rules",
     "/documents/7b0c8d3e-0000-4000-8000-000000000000", "/documents/7b0c8d3e-0000-4000-8000-000000000000/pages/1.png"],
    ids=["list", "rows", "rows-live", "status", "rules", "document", "page-image"],
)  # fmt: skip
def test_anonymous_is_sent_to_sign_in(desk: Config, path: str) -> None:
    response = _client().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/signin")
    assert response["Cache-Control"] == "no-store"


def test_wrong_password_is_refused(desk: Config) -> None:
    response = _client().post("/signin", {"username": "maija", "password": "wrong-password-1"})
    assert (response.status_code == 200 and "Tunnus tai salasana on väärin" in response.content.decode()) or \
        "The name or the password is wrong." in response.content.decode()  # fmt: skip
    from django.contrib.auth.models import User

    assert User.objects.get(username="maija").password.startswith("pbkdf2_sha256$")  # hashed, never plain


def test_security_headers_and_no_cache(desk: Config) -> None:
    client = _client("maija")
    doc = _documents(client)["rise-yks4-fi"]
    for path in ("/", f"/documents/{doc}", f"/documents/{doc}/pages/1.png", f"/documents/{doc}/crops/hetu.png"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "no-store", path
        assert "default-src 'none'" in response["Content-Security-Policy"] and "frame-ancestors 'none'" in \
            response["Content-Security-Policy"]  # fmt: skip
        assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/documents/{doc}/pages/1.png")["Content-Type"] == "image/png"
    page = client.get(f"/documents/{doc}").content.decode()
    assert "<script>" not in page and "style=" not in page  # the CSP allows no inline code
    assert "http://" not in page.replace('"http://www.w3.org', "") and "https://" not in page  # nothing from a CDN


def test_csrf_is_required_for_every_change(desk: Config) -> None:
    client = _client("maija", csrf=True)
    doc = _documents(client)["rise-yks4-fi"]
    response = client.post(f"/documents/{doc}/act", {"action": "reject", "reason": "forged"})
    assert response.status_code == 403
    assert open_store(desk).get(doc).state == "held"


def test_no_personal_data_in_any_url(desk: Config) -> None:
    client = _client("maija")
    docs = _documents(client)
    doc = docs["rise-yks4-fi"]
    client.post(f"/documents/{doc}/act", {"action": "pick", "name": "hetu", "candidate": UNSURE_HETU_TRUTH})
    for path in ("/", f"/documents/{doc}", f"/documents/{docs['ulosotto-uo1-fi']}"):
        html = client.get(path).content.decode()
        assert UNSURE_HETU_TRUTH in html or path != f"/documents/{doc}"  # the value is on the page ...
        for url in URLS.findall(html):
            assert SAFE_URL.match(url), url  # ... but never in an address


def test_held_first_with_plain_reasons_and_crops_beside_doubtful_values(desk: Config) -> None:
    client = _client("maija")
    html = client.get("/").content.decode()
    assert "Vastaanottaja riippuu asiakkaan tiedosta kotikunta, jota ei voitu lukea: anna se." in html
    assert "Mikään sääntö ei kerro, minne lomake menee" in html
    assert "mml-lh1" not in html and "text match" not in html
    doc = _documents(client)["rise-yks4-fi"]
    page = client.get(f"/documents/{doc}").content.decode()
    row = page[page.index('id="field-hetu"') : page.index("</tr>", page.index('id="field-hetu"'))]
    assert f"/documents/{doc}/crops/hetu.png" in row and "tarkista" in row and UNSURE_HETU_TRUTH in row


def test_resolve_and_release(desk: Config) -> None:
    client = _client("maija")
    doc = _documents(client)["rise-yks4-fi"]
    act = f"/documents/{doc}/act"
    page = client.post(act, {"action": "release"}, follow=True).content.decode()
    assert "Ei lähetetty: katso, miksi asiakirja odottaa." in page and open_store(desk).get(doc).state == "held"
    client.post(act, {"action": "pick", "name": "hetu", "candidate": UNSURE_HETU_TRUTH})
    page = client.post(act, {"action": "municipality", "municipality": "Uleåborg"}, follow=True).content.decode()
    assert "Kunta annettu." in page
    page = client.post(act, {"action": "release"}, follow=True).content.decode()
    assert "Lähetetty: paketti" in page and AGENCY in page
    stored = open_store(desk).get(doc)
    assert stored.state == "queued" and stored.municipality == "Oulu"
    [item] = Outbox(desk.transport.spool / "outbox").list()
    assert item.package_id == stored.package_id
    assert [e.who for e in stored.events.all()][1:] == ["maija"] * 4  # refused, pick, municipality, release
    assert client.post(act, {"action": "reject", "reason": "late"}, follow=True).status_code == 200
    assert open_store(desk).get(doc).state == "queued"  # released documents are not changed any more


def test_search_by_package_id_or_form_only(desk: Config) -> None:
    client = _client("maija")
    html = client.post("/", {"q": "ulosotto"}).content.decode()
    assert "ulosotto-uo1-fi" in html and "rise-yks4-fi" not in html
    assert "No documents." in client.post("/", {"q": "JÄRVINEN"}).content.decode() or \
        "Ei asiakirjoja." in client.post("/", {"q": "JÄRVINEN"}).content.decode()  # fmt: skip


def test_roles(desk: Config) -> None:
    advisor, admin = _client("maija"), _client("ville")
    doc = _documents(advisor)["rise-yks4-fi"]
    for path in ("/admin/rules", "/admin/audit", f"/documents/{doc}/explain"):
        assert advisor.get(path).status_code == 403
        assert admin.get(path).status_code == 200
    rules = admin.get("/admin/rules").content.decode()
    assert "Styrningsregler" in rules and "rise-oulu" in rules and "needs the customer" in rules
    advisor.post(f"/documents/{doc}/act", {"action": "reject", "reason": "asiakas perui"})
    audit = admin.get("/admin/audit").content.decode()
    assert "maija" in audit and "avvisat" in audit


def test_language_is_the_users(desk: Config) -> None:
    assert "Asiakirjat" in _client("maija").get("/").content.decode()
    assert "Dokument" in _client("ville").get("/").content.decode()
    client = _client("maija")
    client.post("/language", {"language": "en", "next": "/"})
    assert "Documents" in client.get("/").content.decode()
    assert "Documents" in _client("maija").get("/").content.decode()  # kept with the user


def test_sessions_expire(desk: Config) -> None:
    client = _client("maija")
    session = client.session
    session["intake_signed_in_at"] = time.time() - desk.desk.session_max_s - 1
    session.save()
    assert client.get("/")["Location"].startswith("/signin")
    from django.conf import settings

    assert desk.desk.session_idle_s == settings.SESSION_COOKIE_AGE


def test_the_idle_time_out_counts_from_the_last_click_not_from_the_live_list(desk: Config) -> None:
    from django.contrib.sessions.models import Session

    client = _client("maija")
    key = client.session.session_key
    first = Session.objects.get(session_key=key).expire_date
    time.sleep(1.1)
    assert client.get("/rows").status_code == 200 and client.get("/status.json").status_code == 200
    assert Session.objects.get(session_key=key).expire_date == first  # an open list is not activity
    assert client.get("/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date > first  # a click is


def test_upload_goes_to_the_hot_folder_under_a_random_name(fresh: Fresh, tmp_path: Path, corpus: Path) -> None:
    hot = tmp_path / "hot"
    hot.mkdir()
    config = fresh(hot_folder=hot)
    open_store(config)
    from django.core.files.uploadedfile import SimpleUploadedFile

    from intake.desk.users import add_user

    add_user("maija", PASSWORD, role="advisor", language="fi")
    client = _client("maija")
    scan = SimpleUploadedFile("Järvinen Kaisa 200889-970L.png", (corpus / "scan_0004.png").read_bytes())
    bad = SimpleUploadedFile("notes.txt", b"hello")
    assert client.post("/upload", {"files": [scan, bad]}).status_code == 302
    [landed] = list(hot.iterdir())
    assert re.fullmatch(r"upload-[0-9a-f]{32}\.png", landed.name)
    assert landed.read_bytes() == (corpus / "scan_0004.png").read_bytes()


def test_a_failed_delivery_shows_its_reason_and_can_be_retried(desk: Config) -> None:
    import datetime as dt

    client = _client("maija")
    doc = _documents(client)["rise-yks4-fi"]
    act = f"/documents/{doc}/act"
    client.post(act, {"action": "municipality", "municipality": "Oulu"})
    client.post(act, {"action": "release"})
    outbox = Outbox(desk.transport.spool / "outbox")
    [item] = outbox.list()
    outbox.mark_failed(item.id, now=dt.datetime.now(dt.UTC), error="550 5.1.1 no such mailbox", code=550)
    page = client.get(f"/documents/{doc}").content.decode()
    assert "epäonnistui" in page and "550 5.1.1 no such mailbox" in page and "Yritä toimitusta uudelleen" in page
    assert "Lähetysjonossa uudelleen." in client.post(act, {"action": "retry"}, follow=True).content.decode()
    assert [i.state for i in outbox.list()] == ["queued"]
    assert "Vain epäonnistunutta toimitusta" in client.post(act, {"action": "retry"}, follow=True).content.decode()


@pytest.mark.parametrize(
    ("posts", "pages", "message"),
    [
        ([{"action": "rotate", "page": "1", "degrees": "90"}], 1, "Sivu käännetty."),
        ([{"action": "rotate", "page": "1", "degrees": "45"}], 1, "neljänneksen, puolikkaan tai kolme"),
        ([{"action": "drop", "page": "1"}], 1, "Viimeistä sivua ei voi poistaa"),
        ([{"action": "merge", "other": "OTHER"}], 2, "Toisen asiakirjan sivut lisätty."),
        ([{"action": "merge", "other": "OTHER"}, {"action": "split", "page": "2"}], 1, "Asiakirja jaettu"),
        ([{"action": "form", "form": "no-such-form"}], 1, "Lomaketta ei tunneta"),
        ([{"action": "field", "name": "hetu", "value": "200889-970X"}], 1, "ei läpäise kentän tarkistuksia"),
        ([{"action": "municipality", "municipality": "Atlantis"}], 1, "Tämä ei ole Suomen kunta"),
        ([{"action": "launch-missiles"}], 1, "Tuntematon toiminto."),
    ],
    ids=[
        "rotate",
        "rotate-45",
        "drop-last",
        "merge",
        "merge-split",
        "unknown-form",
        "bad-hetu",
        "no-municipality",
        "unknown-action",
    ],
)
def test_page_and_form_actions(desk: Config, posts: list[dict[str, str]], pages: int, message: str) -> None:
    client = _client("maija")
    docs = _documents(client)
    doc, other = docs["rise-yks4-fi"], docs["ulosotto-uo1-fi"]
    for post in posts:
        page = client.post(f"/documents/{doc}/act", {k: other if v == "OTHER" else v for k, v in post.items()},
                           follow=True).content.decode()  # fmt: skip
    assert message in page
    assert open_store(desk).get(doc).pages.filter(dropped=False).count() == pages


def test_every_control_has_a_label_and_every_image_a_text(desk: Config) -> None:
    client = _client("ville")
    doc = _documents(client)["rise-yks4-fi"]
    for path in ("/", f"/documents/{doc}", "/admin/rules"):
        html = client.get(path).content.decode()
        labelled = set(re.findall(r'<label[^>]* for="([^"]+)"', html))
        for control in re.findall(r"<(?:input|select)\b[^>]*>", html):
            if 'type="hidden"' in control or 'type="radio"' in control:  # radios sit inside their label
                continue
            found = re.search(r'id="([^"]+)"', control)
            assert found and found.group(1) in labelled, f"{path}: {control}"
        assert all('alt="' in image for image in re.findall(r"<img\b[^>]*>", html)), path
        assert re.search(r'<html lang="(fi|sv|en)">', html) and 'class="skip" href="#main"' in html
