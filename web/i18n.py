"""Every word the web app shows, in Danish (the default) and English.

The wording follows the dashboards' (dashboards/i18n.py), whose ``Text``, ``Lang`` and
limits are reused, so Grafana and the web app call things by the same names. A missing key
is an error, never an English word on a Danish page.
"""

from __future__ import annotations

from dashboards.errors import MissingTranslationError
from dashboards.i18n import DEFAULT_LANG, LANGUAGES, Lang, Text
from homevitals.contract.kinds import METRICS

LANG_COOKIE = "hv_lang"


def pick_lang(value: str | None) -> Lang:
    for lang in LANGUAGES:
        if value == lang:
            return lang
    return DEFAULT_LANG


def translate(lang: Lang, key: str, **values: object) -> str:
    try:
        text = TEXTS[key]
    except KeyError as error:
        raise MissingTranslationError(key) from error
    chosen = text.da if lang == "da" else text.en
    return chosen.format(**values) if values else chosen


TEXTS: dict[str, Text] = {
    # Frame ----------------------------------------------------------------------------
    "app.name": Text("homevitals", "homevitals"),
    "nav.label": Text("Hovedmenu", "Main menu"),
    "nav.today": Text("I dag", "Today"),
    "nav.alerts": Text("Alarmer", "Alerts"),
    "nav.unassigned": Text("Ikke tildelte målinger", "Unassigned readings"),
    "nav.devices": Text("Gateways og enheder", "Gateways and devices"),
    "nav.me": Text("Mine målinger", "My readings"),
    "nav.skip": Text("Spring til indhold", "Skip to content"),
    "lang.switch": Text("English", "Dansk"),
    "lang.other": Text("en", "da"),
    "logout": Text("Log ud", "Log out"),
    "signed_in_as": Text("Logget ind som {sub} ({role})", "Signed in as {sub} ({role})"),
    "role.citizen": Text("borger", "citizen"),
    "role.caregiver": Text("plejepersonale", "caregiver"),
    "role.clinician": Text("kliniker", "clinician"),
    "role.admin": Text("administrator", "admin"),
    # Login ------------------------------------------------------------------------------
    "login.title": Text("Log ind", "Log in"),
    "login.oidc": Text("Log ind med kommunens login", "Log in with the municipality's login"),
    "login.dev": Text("Udviklingslogin (kun til demo og test)", "Development login (demo and tests only)"),
    "login.dev_hint": Text(
        "Intet kodeord: slået til med API_WEB_DEV_LOGIN. Aldrig i drift.",
        "No password: enabled by API_WEB_DEV_LOGIN. Never in production.",
    ),
    "login.as": Text("Log ind som {name}", "Log in as {name}"),
    "login.none": Text(
        "Der er ikke sat noget login op. Sæt API_OIDC_DISCOVERY_URL (se docs/web.md).",
        "No login is configured. Set API_OIDC_DISCOVERY_URL (see docs/web.md).",
    ),
    "login.failed": Text("Login mislykkedes: {reason}", "Login failed: {reason}"),
    "login.refused.state": Text(
        "Svaret fra kommunens login hører ikke til et login, som denne browser startede ({detail}). "
        "Luk fanen, og log ind igen herfra.",
        "The municipality's login answered a login this browser did not start ({detail}). "
        "Close the tab and log in again from here.",
    ),
    "login.refused.id_token": Text(
        "Kommunens login sendte et ID-token, der ikke kan godkendes ({detail}). "
        "Log ind igen; sker det igen, så kontakt IT.",
        "The municipality's login sent an ID token that does not verify ({detail}). "
        "Log in again; if it happens again, contact IT.",
    ),
    "login.refused.provider": Text(
        "Kommunens login afviste login ({detail}). Log ind igen; sker det igen, så kontakt IT.",
        "The municipality's login refused the login ({detail}). Log in again; if it happens again, "
        "contact IT.",
    ),
    "login.refused.claims": Text(
        "Du er logget ind, men dit login har ingen brugbar rolle eller plejegruppe ({detail}). "
        "Bed IT om at give dig en rolle i kommunens login.",
        "You are logged in, but your login carries no usable role or care team ({detail}). "
        "Ask IT to give you a role in the municipality's login.",
    ),
    "login.refused.unreachable": Text(
        "Kommunens login kunne ikke nås ({detail}). Prøv igen om lidt; sker det igen, så kontakt IT.",
        "The municipality's login could not be reached ({detail}). Try again shortly; if it "
        "happens again, contact IT.",
    ),
    "logged_out": Text("Du er logget ud.", "You are logged out."),
    # Errors -----------------------------------------------------------------------------
    "error.title": Text("Det gik ikke", "That did not work"),
    "error.403": Text("Du har ikke adgang til dette.", "You do not have access to this."),
    "error.404": Text("Siden eller data findes ikke.", "The page or data does not exist."),
    "error.409": Text("Det kunne ikke lade sig gøre:", "This could not be done:"),
    "error.422": Text("Oplysningerne kan ikke bruges:", "The input cannot be used:"),
    "error.csrf": Text(
        "Formularen er udløbet eller kom ikke fra denne side. Gå tilbage, genindlæs og prøv igen.",
        "The form has expired or did not come from this page. Go back, reload and try again.",
    ),
    "error.back": Text("Til forsiden", "To the start page"),
    # Today ------------------------------------------------------------------------------
    "today.title": Text("I dag", "Today"),
    "today.intro": Text(
        "Borgerne i din plejegruppe, dem der kræver opmærksomhed først.",
        "The citizens of your care team, those who need attention first.",
    ),
    "today.none": Text("Ingen borgere i din plejegruppe.", "No citizens in your care team."),
    "col.citizen": Text("Borger", "Citizen"),
    "col.attention": Text("Opmærksomhed", "Attention"),
    "col.last": Text("Seneste blodtryk", "Latest blood pressure"),
    "col.mean7": Text("7-dages gennemsnit", "7-day mean"),
    "col.alerts": Text("Åbne alarmer", "Open alerts"),
    "col.days_since": Text("Dage siden måling", "Days since reading"),
    "col.gateway": Text("Gateway", "Gateway"),
    "col.battery": Text("Batteri", "Battery"),
    "reason.alert": Text("Rød måling", "Red reading"),
    "reason.warning": Text("Gul måling", "Yellow reading"),
    "reason.open_alerts": Text("{n} åbne alarmer", "{n} open alerts"),
    "reason.missing": Text("Ingen måling i {n} dage", "No reading for {n} days"),
    "reason.never": Text("Har aldrig målt", "Has never measured"),
    "reason.gateway_offline": Text("Gateway offline", "Gateway offline"),
    "reason.low_battery": Text("Lavt batteri ({n} %)", "Low battery ({n} %)"),
    "reason.ok": Text("Alt i orden", "All well"),
    "level.alert": Text("Rød", "Red"),
    "level.warning": Text("Gul", "Yellow"),
    "level.normal": Text("Normal", "Normal"),
    "level.none": Text("Ingen data", "No data"),
    # Citizen ----------------------------------------------------------------------------
    "citizen.chart": Text("Blodtryk og puls, 30 dage", "Blood pressure and pulse, 30 days"),
    "citizen.chart_label": Text(
        "Graf over systolisk, diastolisk blodtryk og puls med grænseværdier",
        "Chart of systolic and diastolic blood pressure and pulse with thresholds",
    ),
    "citizen.readings": Text("Målinger", "Readings"),
    "citizen.no_readings": Text("Ingen målinger i perioden.", "No readings in the period."),
    "citizen.alerts": Text("Alarmer", "Alerts"),
    "citizen.no_alerts": Text("Ingen alarmer.", "No alerts."),
    "citizen.devices": Text("Enheder", "Devices"),
    "citizen.no_devices": Text("Ingen enheder tildelt.", "No devices assigned."),
    "citizen.report": Text("Hjemmeblodtryksrapport (7 dage)", "Home blood-pressure report (7 days)"),
    "citizen.report_html": Text("Vis rapport", "Show report"),
    "citizen.report_elevated": Text(
        "Hjemmeblodtrykket er forhøjet (gennemsnit på eller over 135/85).",
        "Home blood pressure is raised (mean at or above 135/85).",
    ),
    "citizen.report_not_elevated": Text(
        "Hjemmeblodtrykket er ikke forhøjet (gennemsnit under 135/85).",
        "Home blood pressure is not raised (mean below 135/85).",
    ),
    "citizen.report_basis": Text(
        "ESH-protokollen: {n} målinger på {days} dage, første dag udeladt",
        "ESH protocol: {n} readings on {days} days, first day left out",
    ),
    "citizen.report_short": Text(
        "færre målinger end protokollen kræver ({n} på {days} dage)",
        "fewer readings than the protocol asks ({n} on {days} days)",
    ),
    "citizen.report_pdf": Text("Hent som PDF", "Download PDF"),
    "citizen.thresholds": Text("Grænseværdier", "Thresholds"),
    "citizen.edit_thresholds": Text("Ret grænseværdier", "Edit thresholds"),
    "col.time": Text("Tidspunkt", "Time"),
    "col.systolic": Text("Systolisk", "Systolic"),
    "col.diastolic": Text("Diastolisk", "Diastolic"),
    "col.pulse": Text("Puls", "Pulse"),
    "col.level": Text("Niveau", "Level"),
    "col.flags": Text("Markeringer", "Flags"),
    "flag.implausible": Text("Usandsynlig", "Implausible"),
    "flag.clock_corrected": Text("Ur korrigeret", "Clock corrected"),
    "flag.gateway_time": Text("Gatewayens tid", "Gateway time"),
    "flag.clock_in_future": Text("Tid i fremtiden", "Time in the future"),
    "flag.body_movement": Text("Bevægelse", "Movement"),
    "flag.cuff_fit_loose": Text("Løs manchet", "Loose cuff"),
    "flag.irregular_pulse": Text("Uregelmæssig puls", "Irregular pulse"),
    "flag.improper_position": Text("Forkert stilling", "Improper position"),
    "flag.unassigned": Text("Ikke tildelt", "Unassigned"),
    "flag.quarantined": Text("I karantæne", "Quarantined"),
    "legend.systolic": Text("Systolisk", "Systolic"),
    "legend.diastolic": Text("Diastolisk", "Diastolic"),
    "legend.pulse": Text("Puls", "Pulse"),
    "legend.warn": Text("Gul grænse", "Yellow limit"),
    "legend.alert": Text("Rød grænse", "Red limit"),
    # Alerts -----------------------------------------------------------------------------
    "alerts.title": Text("Alarmer", "Alerts"),
    "alerts.intro": Text(
        "Åbne og kvitterede alarmer for din plejegruppe. Kvittér, når du har set den; "
        "afslut med en note, når der er handlet.",
        "Open and acknowledged alerts of your care team. Acknowledge when you have seen "
        "one; resolve it with a note when it has been dealt with.",
    ),
    "alerts.none": Text("Ingen åbne alarmer.", "No open alerts."),
    "alerts.resolved_recent": Text("Senest afsluttede", "Recently resolved"),
    "col.opened": Text("Oprettet", "Opened"),
    "col.message": Text("Besked", "Message"),
    "col.state": Text("Status", "State"),
    "col.who": Text("Hvem og hvornår", "Who and when"),
    "col.note": Text("Note", "Note"),
    "col.action": Text("Handling", "Action"),
    "state.open": Text("Åben", "Open"),
    "state.acknowledged": Text("Kvitteret", "Acknowledged"),
    "state.resolved": Text("Afsluttet", "Resolved"),
    "alerts.acknowledge": Text("Kvittér", "Acknowledge"),
    "alerts.resolve": Text("Afslut", "Resolve"),
    "alerts.note_label": Text("Note til alarm {id}", "Note for alert {id}"),
    "alerts.acknowledged_by": Text("Kvitteret af {who} {at}", "Acknowledged by {who} {at}"),
    "alerts.resolved_by": Text("Afsluttet af {who} {at}", "Resolved by {who} {at}"),
    "alerts.done_ack": Text("Alarm {id} er kvitteret.", "Alert {id} is acknowledged."),
    "alerts.done_resolve": Text("Alarm {id} er afsluttet.", "Alert {id} is resolved."),
    # Unassigned -------------------------------------------------------------------------
    "unassigned.title": Text("Ikke tildelte målinger", "Unassigned readings"),
    "unassigned.intro": Text(
        "Målinger fra en måler, som ingen borger havde fået tildelt på målingstidspunktet. "
        "Tildel måleren (og brugerpladsen) til en borger fra en dato: målingerne fra den "
        "dato følger med.",
        "Readings from a device no citizen had been assigned at the time. Assign the "
        "device (and user slot) to a citizen from a date: the readings from that date on "
        "go with it.",
    ),
    "unassigned.none": Text("Ingen ikke tildelte målinger.", "No unassigned readings."),
    "unassigned.device": Text("Måler {address}, brugerplads {slot}", "Device {address}, user slot {slot}"),
    "unassigned.count": Text("{n} målinger, første {first}", "{n} readings, first {first}"),
    "unassigned.citizen": Text("Borger", "Citizen"),
    "unassigned.from": Text("Fra dato", "From date"),
    "unassigned.assign": Text("Tildel", "Assign"),
    "unassigned.done": Text(
        "Måleren er tildelt {name}; {n} målinger fulgte med.",
        "The device is assigned to {name}; {n} readings went with it.",
    ),
    "quarantine.device_bound_to_other_gateway": Text(
        "I karantæne: sendt af gateway {gateway}, som ikke betjener denne måler.",
        "Quarantined: sent by gateway {gateway}, which does not serve this device.",
    ),
    "quarantine.gateway_revoked": Text(
        "I karantæne: sendt af gateway {gateway}, efter at den blev spærret.",
        "Quarantined: sent by gateway {gateway} after it was revoked.",
    ),
    "quarantine.what_now": Text(
        "Målingerne gemmes som dokumentation, men tildeles ingen borger. Er måleren flyttet, "
        "kan en administrator knytte den til den nye gateway og frigive dem.",
        "The readings are kept as evidence but given to no citizen. If the device has moved, "
        "an administrator can bind it to the new gateway and release them.",
    ),
    # Thresholds -------------------------------------------------------------------------
    "thresholds.title": Text("Grænseværdier for {name}", "Thresholds of {name}"),
    "thresholds.intro": Text(
        "Rød under 'rød lav' eller fra 'rød høj'; gul under 'gul lav' eller fra 'gul høj'. "
        "Værdierne skal stige: rød lav < gul lav < gul høj < rød høj. Står værdierne som "
        "plejeplanens standard, bruges standarden.",
        "Red below 'red low' or from 'red high'; yellow below 'yellow low' or from 'yellow "
        "high'. The values must rise: red low < yellow low < yellow high < red high. Values "
        "equal to the care-plan default use the default.",
    ),
    "col.metric": Text("Måling", "Metric"),
    "col.alert_low": Text("Rød lav", "Red low"),
    "col.warn_low": Text("Gul lav", "Yellow low"),
    "col.warn_high": Text("Gul høj", "Yellow high"),
    "col.alert_high": Text("Rød høj", "Red high"),
    "col.default": Text("Standard (plejeplan)", "Default (care plan)"),
    "col.source": Text("Gælder", "In force"),
    "thresholds.personal": Text("Personlig", "Personal"),
    "thresholds.standard": Text("Standard", "Default"),
    "thresholds.save": Text("Gem grænseværdier", "Save thresholds"),
    "thresholds.saved": Text("Grænseværdierne er gemt.", "The thresholds are saved."),
    "thresholds.read_only": Text(
        "Du kan se grænseværdierne; borgerens plejegruppe ændrer dem.",
        "You can see the thresholds; the citizen's care team changes them.",
    ),
    "thresholds.pair": Text(
        "{metric}: {low} ({low_value}) skal være mindre end {high} ({high_value}). "
        "Værdierne skal stige: rød lav < gul lav < gul høj < rød høj.",
        "{metric}: {low} ({low_value}) must be less than {high} ({high_value}). "
        "The values must rise: red low < yellow low < yellow high < red high.",
    ),
    "thresholds.range": Text(
        "{metric}: en værdi er uden for det mulige (mellem -{limit} og {limit}).",
        "{metric}: a value is out of range (between -{limit} and {limit}).",
    ),
    "thresholds.number": Text(
        "{metric}: skriv tal i alle fire felter.", "{metric}: enter numbers in all four fields."
    ),
    "thresholds.history": Text("Historik", "History"),
    "thresholds.no_history": Text("Ingen ændringer endnu.", "No changes yet."),
    "change.set": Text("Sat", "Set"),
    "change.changed": Text("Ændret", "Changed"),
    "change.removed": Text("Tilbage til standard", "Back to default"),
    "col.changed_by": Text("Af", "By"),
    # "Systolisk blodtryk (mmHg)": the kind registry's label and unit of every threshold metric.
    **{f"metric.{m.name}": Text(f"{m.label.da} ({m.symbol})", f"{m.label.en} ({m.symbol})") for m in METRICS},
    # Devices ----------------------------------------------------------------------------
    "devices.title": Text("Gateways og enheder", "Gateways and devices"),
    "devices.gateways": Text("Gateways", "Gateways"),
    "devices.devices": Text("Målere", "Devices"),
    "devices.none": Text("Ingen.", "None."),
    "col.state_gw": Text("Forbindelse", "Connection"),
    "col.last_seen": Text("Seneste kontakt", "Last contact"),
    "col.outbox": Text("Udbakke", "Outbox"),
    "col.version": Text("Version", "Version"),
    "col.device": Text("Måler", "Device"),
    "col.pairing": Text("Parring", "Pairing"),
    "col.assigned_to": Text("Tildelt", "Assigned to"),
    "gw.online": Text("Online", "Online"),
    "gw.offline": Text("Offline", "Offline"),
    "gw.unknown": Text("Ukendt", "Unknown"),
    "device.active": Text("Parret, aktiv", "Paired, active"),
    "device.silent": Text("Parret, tavs", "Paired, silent"),
    "device.unassigned": Text("Ikke tildelt", "Not assigned"),
    "device.other_gateway": Text("Hørt via en anden gateway", "Heard through another gateway"),
    "col.enrolment": Text("Tilmelding", "Enrolment"),
    "col.quarantined": Text("I karantæne", "Quarantined"),
    "col.bound_gateway": Text("Bundet til gateway", "Bound to gateway"),
    "col.last_gateway": Text("Senest hørt via", "Last heard through"),
    "devices.quarantined_n": Text("{n} målinger", "{n} readings"),
    # Enrolment and revocation (admins) ---------------------------------------------------
    "enrol.not_enrolled": Text("Ikke tilmeldt", "Not enrolled"),
    "enrol.pending": Text("Afventer installation", "Awaiting installation"),
    "enrol.expired": Text("Koden er udløbet", "Code expired"),
    "enrol.enrolled": Text("Tilmeldt", "Enrolled"),
    "enrol.revoked": Text("Tilbagekaldt", "Revoked"),
    "enrol.pending_until": Text("koden gælder til {at}", "the code is valid until {at}"),
    "enrol.expired_at": Text(
        "udløb {at}: tilbagekald og tilmeld igen for en ny kode",
        "expired {at}: revoke and enrol again for a new code",
    ),
    "enrol.enrolled_by": Text("tilmeldt {at} af {by}", "enrolled {at} by {by}"),
    "enrol.revoked_by": Text("tilbagekaldt {at} af {by}", "revoked {at} by {by}"),
    "enrol.heading": Text("Tilmeld gateway", "Enrol a gateway"),
    "enrol.intro": Text(
        "Hubben opretter gatewayens konto på MQTT-brokeren og en engangskode, som installatøren "
        "skriver på gatewayen. Koden vises kun én gang.",
        "The hub creates the gateway's account on the MQTT broker and a one-time code that the "
        "installer types on the gateway. The code is shown only once.",
    ),
    "enrol.id": Text("Gateway-id", "Gateway id"),
    "enrol.id_hint": Text(
        "Små bogstaver, tal og bindestreg, fx gw-0042 (som på gatewayens label).",
        "Lower-case letters, digits and dashes, e.g. gw-0042 (as on the gateway's label).",
    ),
    "enrol.description": Text("Hvor står den (valgfrit)", "Where it is (optional)"),
    "enrol.description_hint": Text(
        "Fx Hansen, Vejle. Højst 100 tegn.", "E.g. Hansen, Vejle. At most 100 characters."
    ),
    "enrol.submit": Text("Tilmeld gateway", "Enrol gateway"),
    "enrol.bad_id": Text(
        "Gateway-id'et kan ikke bruges: 3-64 tegn, små bogstaver, tal og bindestreg, og det første "
        "tegn er et bogstav eller tal (fx gw-0042). Intet er ændret.",
        "The gateway id cannot be used: 3-64 characters, lower-case letters, digits and dashes, "
        "starting with a letter or digit (e.g. gw-0042). Nothing was changed.",
    ),
    "enrol.bad_description": Text(
        "Beskrivelsen må ikke indeholde linjeskift eller styretegn. Intet er ændret.",
        "The description may not contain line breaks or control characters. Nothing was changed.",
    ),
    "enrol.conflict": Text(
        "Gateway {gateway} er allerede tilmeldt. Skal den have en ny kode (mistet eller udløbet "
        "kode, nyt SD-kort), så tilbagekald den først og tilmeld den derefter igen. Intet er ændret.",
        "Gateway {gateway} is enrolled already. To give it a new code (a lost or expired code, a new "
        "SD card), revoke it first, then enrol it again. Nothing was changed.",
    ),
    "broker.unavailable": Text(
        "MQTT-brokeren (Mosquitto) kunne ikke nås, så gateway {gateway}s konto kunne ikke ændres. "
        "Intet er ændret: gatewayen har samme adgang som før. Prøv igen om lidt. Sker det igen, så "
        "bed driften kontrollere, at Mosquitto og dens dynamic-security-plugin kører, og at API'et "
        "har brokerens admin-login (API_BROKER_HOST, API_BROKER_PORT, API_BROKER_ADMIN_PASSWORD).",
        "The MQTT broker (Mosquitto) could not be reached, so gateway {gateway}'s account could not "
        "be changed. Nothing was changed: the gateway has the same access as before. Try again in a "
        "moment. If it happens again, ask operations to check that Mosquitto and its dynamic-security "
        "plugin run and that the API has the broker's admin login (API_BROKER_HOST, API_BROKER_PORT, "
        "API_BROKER_ADMIN_PASSWORD).",
    ),
    "problem.technical": Text("Teknisk besked:", "Technical message:"),
    "enrolled.title": Text("Gateway {gateway} er tilmeldt", "Gateway {gateway} is enrolled"),
    "enrolled.once": Text(
        "Koden vises kun denne ene gang. Skriv den ned nu, eller giv den direkte til installatøren. "
        "Hubben gemmer ikke koden og kan ikke vise den igen.",
        "The code is shown this one time only. Write it down now, or give it straight to the "
        "installer. The hub does not keep the code and cannot show it again.",
    ),
    "enrolled.code": Text("Engangskode", "One-time code"),
    "enrolled.valid_until": Text("Koden virker én gang og til {at}.", "The code works once, and until {at}."),
    "enrolled.install": Text(
        "Sådan gør installatøren på gatewayen", "What the installer does on the gateway"
    ),
    "enrolled.step_software": Text(
        "Installér homevitals på Raspberry Pi'en (docs/gateway-install.md, trin 1-3), og sørg for netværk.",
        "Install homevitals on the Raspberry Pi (docs/gateway-install.md, steps 1-3) and make sure it "
        "has a network.",
    ),
    "enrolled.step_join": Text("Skriv på gatewayen:", "Type on the gateway:"),
    "enrolled.step_start": Text("Start gatewayen:", "Start the gateway:"),
    "enrolled.step_check": Text(
        "Par målerne. På denne side står gatewayen så som Tilmeldt og Online.",
        "Pair the monitors. This page then shows the gateway as Enrolled and Online.",
    ),
    "enrolled.typos": Text(
        "Store og små bogstaver, bindestreger og forveksling af 0/O og 1/I/L gør ikke noget.",
        "Case, dashes and mixing up 0/O and 1/I/L do not matter.",
    ),
    "enrolled.lost": Text(
        "Mistet eller udløbet kode: tilbagekald gatewayen her og tilmeld den igen for en ny kode.",
        "A lost or expired code: revoke the gateway here and enrol it again for a new code.",
    ),
    "enrolled.file": Text(
        "Uden kode: gatewayens konfigurationsfil (indeholder adgangskoden)",
        "Without the code: the gateway's config file (contains the password)",
    ),
    "enrolled.file_how": Text(
        "Gem den som /etc/homevitals/gateway.toml på gatewayen, ejet af homevitals og med mode 0600 "
        "(sudo chown homevitals: /etc/homevitals/gateway.toml && sudo chmod 0600 "
        "/etc/homevitals/gateway.toml). Brug enten koden eller filen.",
        "Save it as /etc/homevitals/gateway.toml on the gateway, owned by homevitals with mode 0600 "
        "(sudo chown homevitals: /etc/homevitals/gateway.toml && sudo chmod 0600 "
        "/etc/homevitals/gateway.toml). Use either the code or the file.",
    ),
    "enrolled.back": Text("Tilbage til Gateways og enheder", "Back to Gateways and devices"),
    "revoke.action": Text("Tilbagekald", "Revoke"),
    "revoke.title": Text("Tilbagekald gateway {gateway}", "Revoke gateway {gateway}"),
    "revoke.what": Text(
        "Gatewayens konto på MQTT-brokeren slettes med det samme, og brokeren afbryder den. Koder, "
        "der ikke er brugt, holder op med at virke. Målinger, der stadig når frem fra den, gemmes i "
        "karantæne og tildeles ingen borger. Gatewayen kan tilmeldes igen senere med en ny kode.",
        "The gateway's account on the MQTT broker is deleted at once and the broker disconnects it. "
        "Unused codes stop working. Readings that still arrive from it are kept in quarantine and "
        "given to no citizen. The gateway can be enrolled again later with a new code.",
    ),
    "revoke.reason": Text(
        "Årsag (skrives i revisionsloggen), fx stjålet, udskiftet, borgeren er flyttet",
        "Reason (written to the audit log), e.g. stolen, replaced, the citizen moved",
    ),
    "revoke.confirm": Text(
        "Skriv gatewayens id ({gateway}) for at bekræfte", "Type the gateway's id ({gateway}) to confirm"
    ),
    "revoke.submit": Text("Tilbagekald {gateway}", "Revoke {gateway}"),
    "revoke.cancel": Text("Fortryd", "Cancel"),
    "revoke.need_reason": Text(
        "Skriv en årsag (uden styretegn). Intet er ændret.",
        "Write a reason (without control characters). Nothing was changed.",
    ),
    "revoke.need_confirm": Text(
        "Skriv gatewayens id ({gateway}) præcist i bekræftelsesfeltet. Intet er ændret.",
        "Type the gateway's id ({gateway}) exactly in the confirmation field. Nothing was changed.",
    ),
    "revoke.done": Text(
        "Gateway {gateway} er tilbagekaldt: brokeren afviser den nu.",
        "Gateway {gateway} is revoked: the broker refuses it now.",
    ),
    "unassigned.quarantine_filter": Text(
        "Viser kun målinger i karantæne, der kom via gateway {gateway}.",
        "Showing only quarantined readings that came through gateway {gateway}.",
    ),
    "unassigned.show_all": Text("Vis alle ikke tildelte målinger", "Show all unassigned readings"),
    # Citizen's own view -----------------------------------------------------------------
    "me.title": Text("Dine målinger", "Your readings"),
    "me.hello": Text("Hej {name}", "Hello {name}"),
    "me.today": Text("I dag", "Today"),
    "me.morning": Text("Morgenmåling (kl. 4-12)", "Morning reading (4 am to noon)"),
    "me.evening": Text("Aftenmåling (kl. 16-24)", "Evening reading (4 pm to midnight)"),
    "me.done": Text("Klaret", "Done"),
    "me.not_done": Text("Mangler endnu", "Not yet"),
    "me.week": Text("Dit gennemsnit de seneste 7 dage", "Your average over the last 7 days"),
    "me.week_none": Text(
        "Der er endnu ikke nok målinger til et gennemsnit.",
        "There are not enough readings for an average yet.",
    ),
    "me.explain": Text(
        "Når du måler derhjemme, er grænsen 135/85. Det øverste tal (135) er trykket, når "
        "hjertet slår; det nederste (85) er trykket mellem slagene. Ligger dit gennemsnit "
        "under 135/85, er dit blodtryk ikke forhøjet. Ligger det på eller over, så tal med "
        "din sygeplejerske eller læge. Én høj måling alene betyder ikke noget farligt.",
        "When you measure at home, the limit is 135/85. The upper number (135) is the "
        "pressure while the heart beats; the lower (85) is the pressure between beats. "
        "If your average is below 135/85 your blood pressure is not raised. If it is at "
        "or above, talk to your nurse or doctor. One high reading alone is nothing dangerous.",
    ),
    "me.elevated": Text("Dit gennemsnit er på eller over 135/85.", "Your average is at or above 135/85."),
    "me.not_elevated": Text("Dit gennemsnit er under 135/85.", "Your average is below 135/85."),
    "me.last": Text("Dine seneste målinger", "Your latest readings"),
    "me.minlog": Text("Hvem har set mine data", "Who has looked at my data"),
    "me.minlog_intro": Text(
        "Hver gang nogen ser eller ændrer dine data, bliver det skrevet her.",
        "Every time someone looks at or changes your data, it is written here.",
    ),
    "col.who_person": Text("Hvem", "Who"),
    "col.what": Text("Hvad", "What"),
    "col.outcome": Text("Udfald", "Outcome"),
    "outcome.ok": Text("Set", "Seen"),
    "outcome.denied": Text("Afvist", "Refused"),
    "minlog.readings": Text("dine målinger", "your readings"),
    "minlog.thresholds": Text("dine grænseværdier", "your thresholds"),
    "minlog.report": Text("din blodtryksrapport", "your blood-pressure report"),
    "minlog.log": Text("hvem der har set dine data (denne side)", "who has looked at your data (this page)"),
    "minlog.record": Text("dine oplysninger (navn, plejegruppe)", "your details (name, care team)"),
    "minlog.overview": Text(
        "plejegruppens oversigt, hvor du er med", "the care team's overview, which lists you"
    ),
    "minlog.alerts": Text("dine alarmer", "your alerts"),
    "minlog.devices": Text("dit blodtryksapparat", "your blood-pressure monitor"),
    "minlog.fhir": Text(
        "dine data, sendt til et andet system (FHIR)", "your data, sent to another system (FHIR)"
    ),
    "action.read": Text("Så", "Viewed"),
    "action.create": Text("Oprettede", "Created"),
    "action.update": Text("Ændrede", "Changed"),
    "action.delete": Text("Slettede", "Deleted"),
    "action.export": Text("Hentede rapport", "Exported"),
    "action.acknowledge": Text("Kvitterede alarm", "Acknowledged alert"),
    "action.resolve": Text("Afsluttede alarm", "Resolved alert"),
    "action.assign": Text("Tildelte målinger", "Assigned readings"),
    "action.end": Text("Afsluttede tildeling", "Ended assignment"),
    "unit.mmhg": Text("mmHg", "mmHg"),
    "unit.per_min": Text("slag/min", "beats/min"),
    "none": Text("\u2013", "\u2013"),
}
