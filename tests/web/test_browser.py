"""The web view in a real browser (headless Chromium through selenium): the demo's
conversation through ``msproxy run --web``, watched live.

One browser and one proxy for the module. Skipped, saying so, when Chromium or its
driver is not installed (Debian: ``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

import pytest
import trio

from msproxy.demo import converse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
INSTALL = "install Chromium and its driver: apt-get install chromium chromium-driver"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None, reason=f"no headless browser here ({INSTALL})"
)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT = 15.0
LONG = 20_000
"""Commands of the long session (whose ladder must not be drawn whole)."""


@dataclass
class Live:
    """The proxy with its web view, the page open in the browser, the demo run through it."""

    driver: Any
    url: str
    base: str
    received: list[str]


def _read_lines(stream: IO[str], pattern: re.Pattern[str], count: int) -> list[re.Match[str]]:
    found: list[re.Match[str]] = []
    for line in stream:
        match = pattern.search(line)
        if match:
            found.append(match)
            if len(found) == count:
                break
    return found


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("web")
    proxy = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "msproxy",
            "run",
            "-q",
            "--listen",
            "127.0.0.1:0",
            "--web",
            "127.0.0.1:0",
            "--capture",
            str(folder / "demo.jsonl"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proxy.stdout is not None
        lines = _read_lines(
            proxy.stdout,
            re.compile(r"listening on (\S+), .*nexus (\S+),|web view: open (\S+)"),
            2,
        )
        server, nexus, url = lines[0].group(1), lines[0].group(2), lines[1].group(3)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1400,900",
        ):
            options.add_argument(argument)
        service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
        driver = webdriver.Chrome(options=options, service=service)
        try:
            driver.get(url)  # before the demo: what follows arrives live
            WebDriverWait(driver, WAIT).until(
                lambda d: d.find_element(By.ID, "status").text == "live"
            )
            received: list[str] = []
            demo = threading.Thread(
                target=lambda: received.extend(trio.run(partial(converse, server, nexus))[0])
            )
            demo.start()
            demo.join(30)
            yield Live(driver, url, url.split("/?")[0], received)
        finally:
            driver.quit()
    finally:
        proxy.terminate()
        proxy.wait(10)
        if proxy.stdout is not None:
            proxy.stdout.close()


ROWS = """return [...document.querySelectorAll('#ladder-rows g.row')]
    .map((g) => [Number(g.dataset.n), g.dataset.verb, g.textContent]);"""
HEADS = (
    """return [...document.querySelectorAll('#ladder-head .col b')].map((b) => b.textContent);"""
)
CHOOSE = """const row = [...document.querySelectorAll('#session-rows tr')]
    .find((tr) => tr.textContent.includes(arguments[0]));
if (row) row.click();
return row ? row.cells[0].textContent.split(" ")[0] : null;"""
SCROLL = """document.getElementById('ladder-scroll').scrollTop = arguments[0] * 24;"""
CLICK = """const row = document.querySelector(`#ladder-rows g.row[data-n="${arguments[0]}"]`);
row.dispatchEvent(new MouseEvent('click', {bubbles: true}));"""


def _alice_session(driver: Any) -> None:
    """Choose alice's session; wait for its ladder (its first connection's column, and a
    switchboard's)."""
    name = WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(CHOOSE, "alice@"))
    WebDriverWait(driver, WAIT).until(
        lambda d: (
            (heads := d.execute_script(HEADS))[1:2] == [name]
            and any(head.startswith("SB#") for head in heads)
        )
    )


def _rows(driver: Any) -> list[tuple[int, str, str]]:
    return [tuple(row) for row in driver.execute_script(ROWS)]


def test_the_page_shows_the_session_its_sb_column_and_the_msg(live: Live, tmp_path: Path) -> None:
    assert live.received == ["Hi Alice! Bob here, on MSNP7."]
    driver = live.driver
    _alice_session(driver)
    heads = driver.execute_script(HEADS)
    assert heads[:3] == ["client", "DS#3", "NS#4"]
    assert heads[3].startswith("SB#")
    WebDriverWait(driver, WAIT).until(
        lambda d: any(
            verb == "MSG" and "\u00abHello Bob, this is Alice, through msproxy.\u00bb" in text
            for _, verb, text in _rows(d)
        )
    )
    shot = tmp_path / "ladder.png"
    assert driver.find_element(By.ID, "ladder").screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("MSPROXY_WEB_SCREENSHOT"):  # how docs/web-ladder.png was made
        hello = next(n for n, verb, text in _rows(driver) if verb == "MSG" and "Hello" in text)
        driver.execute_script(SCROLL, hello - 12)
        WebDriverWait(driver, WAIT).until(lambda d: hello in {n for n, _, _ in _rows(d)})
        driver.execute_script(CLICK, hello)
        WebDriverWait(driver, WAIT).until(
            lambda d: "Hello Bob" in d.find_element(By.ID, "detail").text
        )
        driver.find_element(By.TAG_NAME, "main").screenshot(os.environ["MSPROXY_WEB_SCREENSHOT"])


def test_the_detail_pane_shows_the_payload(live: Live) -> None:
    driver = live.driver
    _alice_session(driver)
    hello = WebDriverWait(driver, WAIT).until(
        lambda d: next((n for n, verb, text in _rows(d) if verb == "MSG" and "Hello" in text), None)
    )
    driver.execute_script(CLICK, hello)
    WebDriverWait(driver, WAIT).until(
        lambda d: (
            "Hello Bob, this is Alice, through msproxy." in d.find_element(By.ID, "detail").text
        )
    )
    detail = driver.find_element(By.ID, "detail").text
    assert "Content-Type:" in detail
    assert "text/plain; charset=UTF-8" in detail
    assert "PAYLOAD (" in detail.upper()


def test_the_filter_narrows_the_arrows(live: Live) -> None:
    driver = live.driver
    _alice_session(driver)
    before = WebDriverWait(driver, WAIT).until(lambda d: _rows(d))
    box = driver.find_element(By.ID, "filter")
    box.clear()
    box.send_keys("cmd MSG", Keys.ENTER)  # the filter language
    WebDriverWait(driver, WAIT).until(lambda d: {verb for _, verb, _ in _rows(d)} == {"MSG"})
    after = _rows(driver)
    assert 0 < len(after) < len(before)
    box.clear()
    box.send_keys(Keys.ENTER)


def test_a_long_session_keeps_only_the_rows_in_view(live: Live, tmp_path: Path) -> None:
    head = b'{"type":"header","format":"msnp-capture","version":1,"started":1000.0,"tool":"t"}\n'
    opened = (
        b'{"type":"open","t":1000.0,"conn":1,"role":"NS","client":"127.0.0.1:5",'
        b'"upstream":"127.0.0.1:6","parent":null,"via":null}\n'
    )
    ping = b'{"type":"cmd","t":1000.5,"conn":1,"dir":"c2s","cmd":"SYN","trid":%d,"args":["0"]}\n'
    path = tmp_path / "long.jsonl"
    path.write_bytes(head + opened + b"".join(ping % n for n in range(LONG)))
    web = subprocess.Popen(
        [sys.executable, "-m", "msproxy", "web", str(path)], stdout=subprocess.PIPE, text=True
    )
    driver = live.driver
    try:
        assert web.stdout is not None
        [found] = _read_lines(web.stdout, re.compile(r"open (\S+)"), 1)
        driver.get(found.group(1))
        WebDriverWait(driver, WAIT).until(lambda d: len(_rows(d)) > 10)
        drawn = len(_rows(driver))
        assert drawn < 100  # the rows in view and a margin, not 20,001
        driver.execute_script(SCROLL, LONG)
        WebDriverWait(driver, WAIT).until(
            lambda d: any(text.startswith(f"SYN {LONG - 1} ") for _, _, text in _rows(d))
        )
        assert len(_rows(driver)) < 100
    finally:
        web.terminate()
        web.wait(10)
        if web.stdout is not None:
            web.stdout.close()
        driver.get(live.url)


def test_a_wrong_token_gets_403(live: Live) -> None:
    live.driver.get(f"{live.base}/?token=wrong")
    assert "403 forbidden" in live.driver.find_element(By.TAG_NAME, "body").text
    live.driver.get(live.url)
