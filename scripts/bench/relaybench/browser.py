"""A browser for the relay benchmark's ``web`` relay: headless Chromium (selenium)
showing the web view's page, which follows the capture live and redraws the chosen
session's ladder as it grows."""

from __future__ import annotations

import contextlib
import shutil
from typing import Any


def open_browser(stack: contextlib.ExitStack, url: str) -> str:
    """Open ``url`` in headless Chromium, closed with ``stack``; what was opened."""
    try:
        from selenium import webdriver
    except ImportError:
        raise RuntimeError("--web needs selenium (pip install -e '.[test]')") from None
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        raise RuntimeError(
            "--web needs chromium and chromedriver (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900"):
        options.add_argument(argument)
    driver: Any = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=driver_path)
    )
    stack.callback(driver.quit)
    driver.get(url)
    return f"headless Chromium {driver.capabilities.get('browserVersion', '?')}"
