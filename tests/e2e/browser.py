"""A real browser for the console's tests: Debian's headless Chromium driven by selenium. The
gateway under test runs in the test's own event loop, so every blocking WebDriver call goes to
a thread (`Browser` wraps the few the tests use)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


class Browser:
    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def open(self, url: str) -> None:
        await self.call(self.driver.get, url)

    async def find(self, css: str) -> list[WebElement]:
        return list(await self.call(self.driver.find_elements, By.CSS_SELECTOR, css))

    async def text(self, css: str) -> str:
        found = await self.find(css)
        return str(await self.call(lambda: found[0].text)) if found else ""

    async def click(self, css: str) -> None:
        [element] = (await self.find(css))[:1]
        await self.call(element.click)

    async def type(self, css: str, text: str) -> None:
        [element] = (await self.find(css))[:1]
        await self.call(element.clear)
        await self.call(element.send_keys, text)

    async def script(self, source: str, *args: Any) -> Any:
        return await self.call(self.driver.execute_script, source, *args)

    async def until(self, check: Callable[[], Any], seconds: float, what: str) -> float:
        """Seconds until `await check()` is truthy; fails the test with `what` after `seconds`."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            try:
                if await check():
                    return time.monotonic() - started
            except StaleElementReferenceException:
                pass  # redrawn meanwhile: look again
            await asyncio.sleep(0.05)
        errors = "\n".join(await self.call(self.console_errors))
        pytest.fail(f"{what} (not within {seconds} s); the page's errors:\n{errors}")

    async def alert_shown(self) -> bool:
        def probe() -> bool:
            try:
                self.driver.switch_to.alert.dismiss()
                return True
            except NoAlertPresentException:
                return False
        return bool(await self.call(probe))

    async def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.call(self.driver.save_screenshot, str(path))

    def console_errors(self) -> list[str]:
        logs = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return [entry["message"] for entry in logs if entry["level"] == "SEVERE"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        pytest.fail("the console's tests need chromium and chromium-driver (make test installs them as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--autoplay-policy=no-user-gesture-required", "--mute-audio"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = await asyncio.to_thread(webdriver.Chrome, service=Service(DRIVER), options=options)
    try:
        yield Browser(driver)
    finally:
        await asyncio.to_thread(driver.quit)
