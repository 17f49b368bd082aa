"""Every page on a 1024 px tablet and a 390 px phone: nothing wider than the screen, axe-core
without serious or critical findings, a skip link first, focus that can be seen.

The phone is Chromium's own device emulation (a mobile viewport of 390 by 844 CSS px, as an
iPhone 12-15), so the page's meta viewport is honoured as on a phone. Screenshots of each
page at each width are saved under tests/web/artefacts/ (the paths are printed).
"""

from __future__ import annotations

import pytest
from browser_support import log_in, screenshot, serious_accessibility_violations, wait_for
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

WIDTHS = {"tablet": (1024, 768, False), "phone": (390, 844, True)}


def staff_pages(seeded) -> dict[str, str]:
    return {
        "i-dag": "/app/i-dag",
        "borger": f"/app/borger/{seeded.anna}",
        "graensevaerdier": f"/app/borger/{seeded.anna}/graensevaerdier",
        "alarmer": "/app/alarmer",
        "ikke-tildelte": "/app/ikke-tildelte",
        "enheder": "/app/enheder",
        "rapport": f"/app/borger/{seeded.anna}/rapport.html",  # the API's report page, as served here
        "ingen-adgang": f"/app/borger/{seeded.carl}",  # the error page
    }


@pytest.fixture(params=list(WIDTHS), scope="module")
def device(request, browser):
    width, height, mobile = WIDTHS[request.param]
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    yield request.param
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def overflow(browser, width: int) -> list[str]:
    """Elements whose right edge is past the screen's width, outside a scrolling table box."""
    return browser.execute_script(
        """
        const width = arguments[0];
        const wide = [];
        if (document.documentElement.scrollWidth > width) wide.push(`page ${document.documentElement.scrollWidth}px`);
        for (const el of document.querySelectorAll('body *')) {
          if (el.closest('.scroll') && el !== el.closest('.scroll')) continue;
          const box = el.getBoundingClientRect();
          if (box.width && box.right > width + 1) wide.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(box.right)}px`);
        }
        return wide.slice(0, 10);
        """,
        width,
    )


def check_layout(browser, artefacts, device: str, name: str, heading: str = "main h1") -> None:
    wait_for(browser, heading)
    print(f"screenshot: {screenshot(browser, artefacts, f'layout-{device}-{name}')}")
    width = WIDTHS[device][0]
    assert overflow(browser, width) == [], (name, overflow(browser, width))
    assert browser.execute_script("return document.documentElement.clientWidth") <= width
    assert serious_accessibility_violations(browser) == [], name


def check_keyboard(browser) -> None:
    """The first Tab stop is the skip link, visibly focused; Enter moves focus to the content."""
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert "skip" in focused.get_attribute("class")
    assert focused.is_displayed() and focused.rect["x"] >= 0
    outline = browser.execute_script("const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth];")
    assert outline[0] != "none" and float(outline[1].rstrip("px")) >= 2
    focused.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"


def test_every_staff_page_fits_and_passes_axe(browser, device, web_server, web_db, artefacts):
    seeded = web_db[2]
    log_in(browser, web_server.base_url, "nurse.nord")
    for name, path in staff_pages(seeded).items():
        browser.get(web_server.base_url + path)
        check_layout(browser, artefacts, device, name, "h1" if name == "rapport" else "main h1")
        if name == "borger":  # the chart drawn for this width, legible on it
            shown = [c.get_attribute("class") for c in browser.find_elements(By.CSS_SELECTOR, "svg.chart")
                     if c.is_displayed()]
            assert shown == ["chart narrow" if device == "phone" else "chart wide"]
    check_keyboard(browser)


def test_the_citizen_view_and_login_fit_and_pass_axe(browser, device, web_server, artefacts):
    browser.delete_all_cookies()
    browser.get(f"{web_server.base_url}/app/login")
    check_layout(browser, artefacts, device, "login")
    check_keyboard(browser)
    log_in(browser, web_server.base_url, "anna.andersen")
    check_layout(browser, artefacts, device, "mig")
    # Large enough for an 80-year-old on a tablet: text of at least 20 CSS px (WCAG's large
    # text is 18.66 px bold), the readings and the heading larger still, big buttons.
    sizes = browser.execute_script(
        "return ['main p', 'ul.checks li', 'ul.my-readings .value', 'main h1', 'table.minlog td'].map("
        "s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize));"
    )
    assert min(sizes) >= 18 and sizes[0] >= 20 and sizes[2] >= 24 and sizes[3] >= 28, sizes


def test_the_admins_enrolment_forms_fit_and_pass_axe(browser, device, web_server, artefacts):
    """The admin's view of *Gateways og enheder* (the *Tilmeld gateway* form) and the revoke
    confirmation: the forms only admins see, at both widths."""
    browser.delete_all_cookies()
    log_in(browser, web_server.base_url, "admin.it")
    browser.get(f"{web_server.base_url}/app/enheder")
    assert browser.find_elements(By.CSS_SELECTOR, 'form[action$="/enheder/tilmeld"]')
    check_layout(browser, artefacts, device, "enheder-admin")
    browser.get(f"{web_server.base_url}/app/enheder/gw-0001/tilbagekald")
    assert browser.find_elements(By.CSS_SELECTOR, "form textarea, form input[name=reason]")
    check_layout(browser, artefacts, device, "enheder-tilbagekald")
