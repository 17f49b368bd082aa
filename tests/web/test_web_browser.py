"""The web app in a real headless Chromium against the real API process and TimescaleDB."""

from __future__ import annotations

import httpx
import psycopg
from browser_support import log_in, screenshot, serious_accessibility_violations, wait_for, wait_for_text
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from web_http import dev_login


def check_page(browser, artefacts, name):
    """Screenshot (artefact) and axe-core: no serious or critical violations."""
    path = screenshot(browser, artefacts, name)
    print(f"screenshot: {path}")
    assert serious_accessibility_violations(browser) == [], name


def test_a_nurse_works_the_day(browser, web_server, web_db, artefacts):
    dsn, _, seeded = web_db
    base = web_server.base_url
    log_in(browser, base, "nurse.nord")
    assert browser.current_url.endswith("/app/i-dag")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.overview tbody tr")
    assert rows[0].get_attribute("data-citizen") == str(seeded.anna)
    assert "attention-red" in rows[0].get_attribute("class")
    assert str(seeded.carl) not in [r.get_attribute("data-citizen") for r in rows]  # another team
    assert "Har aldrig målt" in browser.page_source  # Dora
    check_page(browser, artefacts, "01-i-dag")

    browser.get(f"{base}/app/borger/{seeded.anna}")
    wait_for(browser, "svg.chart.wide line.limit.alert.systolic")
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart.wide circle.point.systolic")) == 7
    assert browser.find_element(By.CSS_SELECTOR, "svg.chart.wide").is_displayed()
    assert not browser.find_element(By.CSS_SELECTOR, "svg.chart.narrow").is_displayed()
    newest = browser.find_element(By.CSS_SELECTOR, "table.readings tbody tr")
    assert "level-alert" in newest.get_attribute("class")
    check_page(browser, artefacts, "02-borger")

    browser.get(f"{base}/app/alarmer")
    card = wait_for(browser, f'li[data-alert="{seeded.alert_anna}"]')
    note = card.find_element(By.TAG_NAME, "textarea")
    note.clear()
    note.send_keys("Ringet til Anna, måler igen i aften")
    card.find_element(By.CSS_SELECTOR, "button.ack").click()
    wait_for_text(browser, ".notice.ok", f"Alarm {seeded.alert_anna} er kvitteret")
    card = wait_for(browser, f'li[data-alert="{seeded.alert_anna}"]')
    assert "Kvitteret af nurse.nord" in card.text
    note = card.find_element(By.TAG_NAME, "textarea")
    note.clear()
    note.send_keys("Blodtryk faldet efter ny medicin")
    card.find_element(By.CSS_SELECTOR, "button.resolve").click()
    wait_for_text(browser, ".notice.ok", f"Alarm {seeded.alert_anna} er afsluttet")
    resolved = wait_for(browser, f'table.resolved tr[data-alert="{seeded.alert_anna}"]')
    assert "Afsluttet af nurse.nord" in resolved.text and "ny medicin" in resolved.text
    check_page(browser, artefacts, "03-alarmer")

    browser.get(f"{base}/app/ikke-tildelte")
    card = wait_for(browser, f'li[data-device="{seeded.spare_device}"]')
    check_page(browser, artefacts, "04-ikke-tildelte")
    Select(card.find_element(By.TAG_NAME, "select")).select_by_value(str(seeded.bo))
    card.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_text(browser, ".notice.ok", f"{seeded.unassigned} målinger fulgte med")
    assert not browser.find_elements(By.CSS_SELECTOR, f'li[data-device="{seeded.spare_device}"]')

    browser.get(f"{base}/app/borger/{seeded.anna}/graensevaerdier")
    wait_for(browser, "form.thresholds-form")
    field = browser.find_element(By.ID, "systolic-warn_high")
    field.clear()
    field.send_keys("170")  # above red high (160): refused
    browser.find_element(By.CSS_SELECTOR, "form.thresholds-form button[type=submit]").click()
    wait_for_text(browser, ".notice.error", "Systolisk blodtryk (mmHg): gul høj (170) skal være mindre end rød høj (160)")
    marked = browser.find_elements(By.CSS_SELECTOR, 'input[aria-invalid="true"]')
    assert {f.get_attribute("id") for f in marked} == {"systolic-warn_high", "systolic-alert_high"}
    for field_id, value in (("systolic-warn_high", "180"), ("systolic-alert_high", "200"),
                            ("diastolic-warn_high", "110"), ("diastolic-alert_high", "120")):
        field = browser.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "form.thresholds-form button[type=submit]").click()
    wait_for_text(browser, ".notice.ok", "Grænseværdierne er gemt")
    assert "nurse.nord" in browser.find_element(By.CSS_SELECTOR, "table.history").text
    check_page(browser, artefacts, "05-graensevaerdier")
    browser.get(f"{base}/app/borger/{seeded.anna}")
    newest = wait_for(browser, "table.readings tbody tr")
    assert "level-normal" in newest.get_attribute("class")  # 172/104 is no longer red

    browser.get(f"{base}/app/enheder")
    wait_for(browser, "table.devices")
    assert "Offline" in browser.find_element(By.CSS_SELECTOR, 'tr[data-gateway="gw-0002"]').text
    check_page(browser, artefacts, "06-enheder")

    with psycopg.connect(dsn) as conn:
        alert = conn.execute(
            "SELECT state, acknowledged_by, resolved_by, note FROM alerts WHERE id = %s", (seeded.alert_anna,)
        ).fetchone()
        moved = conn.execute(
            "SELECT count(*) FROM readings WHERE device_id = %s AND citizen_id = %s", (seeded.spare_device, seeded.bo)
        ).fetchone()
        actions = {r[0] for r in conn.execute("SELECT action FROM audit_log WHERE actor = 'nurse.nord'")}
    assert alert == ("resolved", "nurse.nord", "nurse.nord", "Blodtryk faldet efter ny medicin")
    assert moved == (seeded.unassigned,)
    assert {"read", "acknowledge", "resolve", "create", "assign", "update"} <= actions


def test_a_citizen_sees_only_their_own_data_and_who_looked(browser, web_server, web_db, artefacts):
    _, _, seeded = web_db
    base = web_server.base_url
    with httpx.Client(base_url=base, timeout=20) as nurse:  # a nurse looks first
        dev_login(nurse, "nurse.nord")
        assert nurse.get(f"/app/borger/{seeded.anna}").status_code == 200
    log_in(browser, base, "anna.andersen")
    assert browser.current_url.endswith("/app/mig")
    wait_for_text(browser, "main h1", "Hej Anna")
    source = browser.page_source
    assert "Bo Berg" not in source and "Carl" not in source and "Dora" not in source
    assert len(browser.find_elements(By.CSS_SELECTOR, "ul.my-readings li")) == 6
    assert "135/85" in browser.find_element(By.CSS_SELECTOR, "p.explain").text
    minlog = browser.find_element(By.CSS_SELECTOR, "table.minlog").text
    assert "nurse.nord" in minlog and "plejepersonale" in minlog
    assert "Så: dine målinger" in minlog and "Så: dine grænseværdier" in minlog
    check_page(browser, artefacts, "07-mig")
    browser.set_window_size(390, 900)  # a phone
    check_page(browser, artefacts, "08-mig-telefon")
    browser.set_window_size(1024, 900)
    browser.get(f"{base}/app/borger/{seeded.carl}")
    wait_for_text(browser, "main", "Du har ikke adgang")
    browser.get(f"{base}/app/i-dag")
    wait_for_text(browser, "main h1", "Hej Anna")  # a citizen's start is their own view


def test_another_teams_caregiver_cannot_open_the_citizen(browser, web_server, web_db, artefacts):
    _, _, seeded = web_db
    log_in(browser, web_server.base_url, "nurse.syd")
    browser.get(f"{web_server.base_url}/app/borger/{seeded.anna}")
    wait_for_text(browser, "main", "Du har ikke adgang")
    assert "Andersen" not in browser.page_source
    check_page(browser, artefacts, "09-anden-plejegruppe")


def test_english_switch(browser, web_server, artefacts):
    log_in(browser, web_server.base_url, "nurse.nord")
    browser.find_element(By.CSS_SELECTOR, 'a[lang="en"]').click()
    wait_for_text(browser, "main h1", "Today")
    check_page(browser, artefacts, "10-today-english")
    browser.find_element(By.CSS_SELECTOR, 'a[lang="da"]').click()
    wait_for_text(browser, "main h1", "I dag")


def test_the_home_bp_report_opens_and_downloads_as_pdf(browser, web_server, web_db, artefacts, tmp_path):
    dsn, _, seeded = web_db
    base = web_server.base_url
    log_in(browser, base, "nurse.nord")
    browser.get(f"{base}/app/borger/{seeded.anna}")
    browser.find_element(By.CSS_SELECTOR, 'a[href$="/rapport.html"]').click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/rapport.html"))
    assert "Anna" in browser.page_source and "135/85" in browser.page_source
    print(f"screenshot: {screenshot(browser, artefacts, '11-rapport')}")
    browser.back()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    wait_for(browser, 'a[href$="/rapport.pdf"]').click()
    WebDriverWait(browser, 30).until(lambda _: [p for p in downloads.iterdir() if p.suffix == ".pdf"])
    (pdf,) = [p for p in downloads.iterdir() if p.suffix == ".pdf"]
    assert pdf.name.startswith(f"home-bp-{seeded.anna}-") and pdf.read_bytes().startswith(b"%PDF-")
    with psycopg.connect(dsn) as conn:
        exports = conn.execute(
            "SELECT resource FROM audit_log WHERE actor = 'nurse.nord' AND action = 'export' AND citizen_id = %s",
            (seeded.anna,),
        ).fetchall()
    assert {r for (r,) in exports} >= {f"citizens/{seeded.anna}/reports/home-bp.html",
                                       f"citizens/{seeded.anna}/reports/home-bp.pdf"}
