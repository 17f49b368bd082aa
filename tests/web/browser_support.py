"""Driving the pages in Chromium: log in, wait, screenshot, and axe-core's audit."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

REPO_ROOT = Path(__file__).resolve().parents[2]
NPM_MODULES = Path(os.environ.get("HOMEVITALS_NPM_CACHE", REPO_ROOT / ".cache/npm")) / "node_modules"
AXE = NPM_MODULES / "axe-core/axe.min.js"
WAIT_S = 15


def wait_for(driver: WebDriver, css: str) -> Any:
    return WebDriverWait(driver, WAIT_S).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def wait_for_text(driver: WebDriver, css: str, text: str) -> None:
    WebDriverWait(driver, WAIT_S).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def log_in(driver: WebDriver, base_url: str, sub: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base_url}/app/login")
    driver.find_element(By.CSS_SELECTOR, f'button[data-sub="{sub}"]').click()
    WebDriverWait(driver, WAIT_S).until(lambda d: "/login" not in d.current_url)
    wait_for(driver, "main h1")


def screenshot(driver: WebDriver, folder: Path, name: str) -> Path:
    """The whole page (beyond the viewport), at the window's or the emulated device's width."""
    path = folder / f"{name}.png"
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def serious_accessibility_violations(driver: WebDriver) -> list[str]:
    """axe-core's WCAG 2.1 A/AA rules on the current page; serious and critical findings only."""
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run scripts/setup (it installs axe-core from npm)")
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => done(r.violations), e => done([{id: 'axe-error', impact: 'critical', help: String(e),"
        " nodes: []}]));"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]
