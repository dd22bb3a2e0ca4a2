"""The desk's live list: a request for news is answered the moment a document or a delivery
changed (in this process, or in another one on the same store), with 'nothing new' (204) when
its wait ends, and open lists cannot take every thread of a real 'intake serve'."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, OpenerDirector, Request, build_opener

from desk_fixtures import OTHER, PASSWORD, Fresh, client, documents, serving, write_config

from intake.changes import changes
from intake.config import Config
from intake.demo.pki import DemoPki
from intake.desk import live
from intake.store import open_store

VERSION = re.compile(r"^\d{8}\.\d+\.\d+\.\d{6}$")  # a day, a counter, a time: nothing personal
ROW = re.compile(r'data-id="([0-9a-f-]{36})"')


def test_a_wait_ends_at_once_when_this_process_announces_a_change() -> None:
    version = {"now": "a"}

    def change() -> None:
        time.sleep(0.3)
        version["now"] = "b"
        changes.announce()  # as the watch thread does once it stored a document

    threading.Thread(target=change).start()
    started = time.monotonic()
    answer = live.wait_for_change("a", lambda: version["now"], seconds=60, check_s=30)
    assert answer == live.Answer("b", waited=True) and time.monotonic() - started < 10  # not the 30 s check


def test_a_wait_ends_unchanged_after_its_time_and_only_so_many_may_wait() -> None:
    started = time.monotonic()
    assert live.wait_for_change("a", lambda: "a", seconds=0.3) == live.Answer("a", waited=True)
    assert time.monotonic() - started >= 0.3
    released, calls = threading.Event(), []

    def current() -> str:
        calls.append(1)
        return "b" if released.is_set() else "a"

    waiting = [threading.Thread(target=live.wait_for_change, args=("a", current), kwargs={"seconds": 60})
               for _ in range(live.WAITERS)]  # fmt: skip
    for thread in waiting:
        thread.start()
    while len(calls) < live.WAITERS:  # each reads the version once it may wait
        time.sleep(0.05)
    started = time.monotonic()
    assert live.wait_for_change("a", lambda: "a", seconds=60) == live.Answer("a", waited=False)  # at once
    assert time.monotonic() - started < 5
    released.set()
    for thread in waiting:
        thread.join(30)
    assert not any(thread.is_alive() for thread in waiting)
    assert live.wait_for_change("a", lambda: "a", seconds=0.1).waited  # the places are free again


def _signed_in(config: Config) -> Any:
    open_store(config)
    from intake.desk.users import add_user

    add_user("maija", PASSWORD, role="advisor", language="fi")
    return client("maija")


def _version(advisor: Any, path: str = "/rows") -> str:
    response = advisor.get(path)
    assert response.status_code == 200 and VERSION.match(response["X-Desk-Version"])
    return str(response["X-Desk-Version"])


def test_nothing_new_is_204_after_the_wait_and_an_old_version_gets_the_rows_at_once(fresh: Fresh) -> None:
    advisor = _signed_in(fresh(live_wait_s=1))
    for path in ("/rows", "/status.json"):
        version = _version(advisor, path)
        started = time.monotonic()
        response = advisor.get(path, {"since": version})
        assert response.status_code == 204 and response.content == b"" and "Retry-After" not in response
        assert time.monotonic() - started >= 0.9
        started = time.monotonic()
        response = advisor.get(path, {"since": "20200101.1.0.000000"})
        assert response.status_code == 200 and response["X-Desk-Version"] == version
        assert time.monotonic() - started < 1
    assert len(ROW.findall(advisor.get("/rows", {"since": "old"}).content.decode())) == 2


def _while_waiting(advisor: Any, version: str, change: Any) -> tuple[Any, float]:
    """Ask for news since ``version`` while ``change()`` runs in another thread; the answer and its time."""

    def soon() -> None:
        time.sleep(0.3)
        change()

    thread = threading.Thread(target=soon)
    thread.start()
    started = time.monotonic()
    response = advisor.get("/rows", {"since": version})
    thread.join()
    return response, time.monotonic() - started


def test_rows_answer_when_an_advisor_or_another_process_changes_a_document(desk: Config) -> None:
    advisor, other = client("maija"), client("ville")
    ids = documents(advisor)
    version = _version(advisor)

    def reject_here() -> None:
        other.post(f"/documents/{ids['ulosotto-uo1-fi']}/act", {"action": "reject", "reason": "asiakas perui"})

    response, seconds = _while_waiting(advisor, version, reject_here)
    assert response.status_code == 200 and seconds < 15  # the change, not the 20 s wait's end
    assert response["X-Desk-Version"] != version and 'class="rejected"' in response.content.decode()

    def reject_elsewhere() -> None:  # 'intake review' in another process: no announcement reaches here
        command = ["review", "reject", ids["rise-yks4-fi"], "--reason", "perui", "--config", str(desk.source)]
        subprocess.run([sys.executable, "-m", "intake.cli", *command], check=True, capture_output=True, timeout=60)

    response, seconds = _while_waiting(advisor, response["X-Desk-Version"], reject_elsewhere)
    assert response.status_code == 200 and seconds < 19
    assert response.content.decode().count('class="rejected"') == 2


def test_a_waiting_request_does_not_undo_what_a_click_wrote_into_the_session(fresh: Fresh) -> None:
    from django.test import Client

    page = _signed_in(fresh(live_wait_s=5))
    tab = Client(SERVER_NAME="localhost")
    tab.cookies = page.cookies  # the same browser: one session
    doc = documents(page)["ulosotto-uo1-fi"]
    version = _version(page)

    def reject() -> None:  # the advisor's click, while the page's request for news waits
        assert page.post(f"/documents/{doc}/act", {"action": "reject", "reason": "perui"}).status_code == 302

    response, _ = _while_waiting(tab, version, reject)
    assert response.status_code == 200
    assert "Hylätty: asiakirjaa ei lähetetä." in page.get(f"/documents/{doc}").content.decode()  # the message


class _Browser:
    """The page's requests with its cookies, over HTTP to a real server."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener: OpenerDirector = build_opener(HTTPCookieProcessor(CookieJar()))

    def sign_in(self) -> None:
        page = self.opener.open(f"{self.base}/signin", timeout=30).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        form = urlencode({"username": "maija", "password": PASSWORD, "csrfmiddlewaretoken": token[1]}).encode()
        assert self.opener.open(Request(f"{self.base}/signin", data=form), timeout=30).url == f"{self.base}/"

    def get(self, path: str) -> tuple[int, dict[str, str], str, float]:
        started = time.monotonic()
        with self.opener.open(f"{self.base}{path}", timeout=60) as answer:
            return answer.status, dict(answer.headers), answer.read().decode(), time.monotonic() - started


def test_a_scan_reaches_every_open_list_and_open_lists_leave_threads_for_pages(
    tmp_path: Path, pki: DemoPki, corpus: Path
) -> None:
    hot = tmp_path / "hot"
    config = write_config(tmp_path, pki, hot_folder=hot, live_wait_s=60)
    with serving(config, tmp_path / "serve.log") as url:
        browser = _Browser(url)
        browser.sign_in()
        _, headers, _, _ = browser.get("/rows")
        since = f"/rows?since={headers['X-Desk-Version']}"
        answers: list[tuple[int, dict[str, str], str, float]] = []
        tabs = [threading.Thread(target=lambda: answers.append(browser.get(since))) for _ in range(live.WAITERS)]
        for tab in tabs:
            tab.start()
        time.sleep(2)  # every one of them waiting for news
        status, headers, _, seconds = browser.get(since)
        assert (status, headers.get("Retry-After")) == (204, str(live.RETRY_AFTER_S)) and seconds < 5  # come later
        status, _, page, seconds = browser.get("/")
        assert status == 200 and "Asiakirjat" in page and seconds < 5  # pages still have threads
        assert answers == []

        shutil.copyfile(corpus / OTHER, hot / ".scan.jpg.part")
        os.rename(hot / ".scan.jpg.part", hot / "Virtanen Matti.jpg")  # as scanners do
        for tab in tabs:
            tab.join(60)
        assert len(answers) == live.WAITERS
        for status, headers, rows, _ in answers:
            assert status == 200 and len(ROW.findall(rows)) == 1 and "ULOSOTTO" in rows
            assert VERSION.match(headers["X-Desk-Version"])
