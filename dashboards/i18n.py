"""Every word the dashboards show, in Danish (the staff's language, the default) and English.

The SQL is the same in both languages: columns keep stable English names and the dashboards
rename them for display (field overrides) and translate codes with value mappings. Only
this module holds human-readable text, so a missing translation is a KeyError at build time,
not an English word in a Danish dashboard.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

from dashboards.errors import MissingTranslationError, UnknownLanguageError
from homevitals.contract.kinds import KINDS, METRICS

Lang = Literal["da", "en"]
LANGUAGES: tuple[Lang, ...] = get_args(Lang)
DEFAULT_LANG: Lang = "da"


class Text(NamedTuple):
    da: str
    en: str


def parse_lang(value: str) -> Lang:
    for lang in LANGUAGES:
        if value == lang:
            return lang
    raise UnknownLanguageError(value, LANGUAGES)


def tr(lang: Lang, key: str) -> str:
    try:
        text = TEXTS[key]
    except KeyError as error:
        raise MissingTranslationError(key) from error
    return text.da if lang == "da" else text.en


# Limits the care dashboards count and colour by (docs/dashboards.md). They live here
# because the panel titles quote them.
MISSING_DAYS = 3  # "hasn't measured for days": from this many calendar days on
LOW_BATTERY_PERCENT = 20

TEXTS: dict[str, Text] = {
    # Dashboards ------------------------------------------------------------------------
    "care.title": Text("Omsorgsoverblik", "Care overview"),
    "care.description": Text(
        "Borgerne i den valgte plejegruppe: seneste blodtryk og dets niveau, 7-dages "
        "gennemsnit, åbne alarmer, dage siden seneste måling, gateway og batteri. "
        "Klik på en borger for at se forløbet.",
        "Citizens in the selected care team: latest blood pressure and its level, 7-day "
        "mean, open alerts, days since the last reading, gateway and battery. Click a "
        "citizen to open their trend.",
    ),
    "citizen.title": Text("Borgerdetaljer", "Citizen detail"),
    "citizen.description": Text(
        "Én borgers blodtryk og puls over tid med borgerens egne grænser, morgen- og "
        "aftengennemsnit, alle målinger med statusflag, målerens batteri og gatewayens "
        "seneste kontakt.",
        "One citizen's blood pressure and pulse over time with their own thresholds, "
        "morning and evening means, every reading with its status flags, the device "
        "battery and the gateway's last contact.",
    ),
    "fleet.title": Text("Udstyr og gateways", "Fleet"),
    "fleet.description": Text(
        "Alle gateways og målere: forbindelse, udbakke, seneste kontakt, målere pr. "
        "gateway, batteriniveauer og huller i batch_seq.",
        "Every gateway and device: connection, outbox, last contact, devices per gateway, "
        "battery levels and batch_seq gaps.",
    ),
    "ingest.title": Text("Dataindlæsning og drift", "Ingest operations"),
    "ingest.description": Text(
        "Hubbens modtagelse af målinger: målinger pr. minut, afviste beskeder med årsag, "
        "usandsynlige målinger og forsinkelse fra måling til database.",
        "The hub's intake of readings: readings per minute, dead letters with their "
        "reasons, implausible readings and lag from measurement to database.",
    ),
    "folder.title": Text("homevitals", "homevitals"),
    # Variables -------------------------------------------------------------------------
    "var.team.label": Text("Plejegruppe", "Care team"),
    "var.team.description": Text(
        "Vis kun borgere i disse plejegrupper.", "Show only citizens in these care teams."
    ),
    "var.citizen.label": Text("Borger", "Citizen"),
    "var.citizen.description": Text(
        "Borgeren vises med fornavn, efternavnets forbogstav og internt nummer.",
        "The citizen is shown by given name, family initial and internal number.",
    ),
    "var.all": Text("Alle", "All"),
    # Links -----------------------------------------------------------------------------
    "link.open_citizen": Text("Åbn borgerdetaljer", "Open citizen detail"),
    "link.web_citizen": Text(
        "Åbn borgeren i homevitals (kvittér, grænseværdier, rapport)",
        "Open the citizen in homevitals (acknowledge, thresholds, report)",
    ),
    "link.web_alert": Text(
        "Kvittér eller afslut alarmen i homevitals", "Acknowledge or resolve the alert in homevitals"
    ),
    "var.web.label": Text("Webapp", "Web app"),
    "var.web.description": Text(
        "Adressen på homevitals' webapp, som tabellernes links åbner (sættes af homevitals dashboards sync).",
        "The address of the homevitals web app the tables' links open (set by homevitals dashboards sync).",
    ),
    # Shared -----------------------------------------------------------------------------
    "no_data": Text("Ingen data", "No data"),
    "unit.mmhg": Text("suffix: mmHg", "suffix: mmHg"),
    "unit.pulse": Text("suffix: /min", "suffix: /min"),
    "unit.days": Text("suffix:  dage", "suffix:  days"),
    "unit.batches": Text("suffix:  batches", "suffix:  batches"),
    # Care overview panels ---------------------------------------------------------------
    "care.red.title": Text("Rødt blodtryk", "Red blood pressure"),
    "care.red.description": Text(
        "Antal borgere, hvis seneste blodtryk eller puls er uden for alarmgrænsen. "
        "Se dem øverst i listen og vurder, om de skal kontaktes i dag.",
        "Citizens whose latest blood pressure or pulse is beyond the alert limit. They "
        "are at the top of the list; decide whether to contact them today.",
    ),
    "care.yellow.title": Text("Gult blodtryk", "Yellow blood pressure"),
    "care.yellow.description": Text(
        "Antal borgere, hvis seneste måling er uden for advarselsgrænsen, men inden for "
        "alarmgrænsen. Hold øje med udviklingen.",
        "Citizens whose latest reading is beyond the warning limit but within the alert "
        "limit. Watch the trend.",
    ),
    "care.stale.title": Text(
        f"Ikke målt i {MISSING_DAYS}+ dage", f"No reading for {MISSING_DAYS}+ days"
    ),
    "care.stale.description": Text(
        f"Borgere uden nogen måling i {MISSING_DAYS} kalenderdage eller mere (eller aldrig). "
        "Ring eller besøg: er måleren i brug, er gatewayen tændt?",
        f"Citizens without any reading for {MISSING_DAYS} calendar days or more (or "
        "never). Call or visit: is the monitor used, is the gateway on?",
    ),
    "care.open_alerts.title": Text("Åbne alarmer", "Open alerts"),
    "care.open_alerts.description": Text(
        "Alarmer, som ingen har kvitteret for endnu. Kvitter i homevitals, når du har "
        "taget stilling.",
        "Alerts nobody has acknowledged yet. Acknowledge them in homevitals once you have "
        "acted.",
    ),
    "care.offline.title": Text("Gateway uden forbindelse", "Gateway offline"),
    "care.offline.description": Text(
        "Borgere, hvis gateway har mistet forbindelsen. Målinger gemmes i gatewayen og "
        "sendes, når den er tilbage; bed borgeren tjekke strøm og internet.",
        "Citizens whose gateway has lost its connection. Readings wait on the gateway "
        "until it is back; ask the citizen to check power and internet.",
    ),
    "care.battery.title": Text("Lavt batteri", "Low battery"),
    "care.battery.description": Text(
        f"Borgere med en måler under {LOW_BATTERY_PERCENT} % batteri. Medbring batterier "
        "ved næste besøg.",
        f"Citizens with a monitor below {LOW_BATTERY_PERCENT} % battery. Bring batteries "
        "on the next visit.",
    ),
    "care.citizens.title": Text("Borgere", "Citizens"),
    "care.citizens.description": Text(
        "Én række pr. borger, de mest bekymrende øverst: seneste måling med tidspunkt og "
        "niveau (rød, gul, grøn efter borgerens grænser), 7-dages gennemsnit, åbne "
        "alarmer og dage siden måling. Klik på navnet for borgerdetaljer.",
        "One row per citizen, most worrying first: latest reading with its time and level "
        "(red, yellow, green by the citizen's thresholds), 7-day mean, open alerts and "
        "days since the last reading. Click the name for the citizen detail.",
    ),
    "care.alerts.title": Text("Åbne og kvitterede alarmer", "Open and acknowledged alerts"),
    "care.alerts.description": Text(
        "Alle alarmer, der ikke er løst, de alvorligste og nyeste øverst. Klik på navnet "
        "for borgerdetaljer.",
        "Every alert not yet resolved, most severe and newest first. Click the name for "
        "the citizen detail.",
    ),
    # Citizen detail panels --------------------------------------------------------------
    "citizen.last.title": Text("Seneste blodtryk", "Latest blood pressure"),
    "citizen.last.description": Text(
        "Seneste gyldige måling: systolisk, diastolisk og puls.",
        "Latest valid reading: systolic, diastolic and pulse.",
    ),
    "citizen.level.title": Text("Niveau, seneste måling", "Level, latest reading"),
    "citizen.level.description": Text(
        "Seneste målings niveau efter borgerens grænser: rød er alarm, gul er advarsel.",
        "The latest reading's level by the citizen's thresholds: red is alert, yellow is "
        "warning.",
    ),
    "citizen.mean7.title": Text("Gennemsnit, 7 dage", "7-day mean"),
    "citizen.mean7.description": Text(
        "Gennemsnit af de gyldige hjemmemålinger de seneste 7 kalenderdage (i dag og de 6 "
        "foregående), de dage hjemmeblodtryksrapporten tæller.",
        "Mean of the valid home readings of the last 7 calendar days (today and the 6 before), "
        "the days the home-BP report counts.",
    ),
    "citizen.days.title": Text("Dage siden måling", "Days since reading"),
    "citizen.days.description": Text(
        "Kalenderdage siden borgerens seneste måling, i borgerens tidszone.",
        "Calendar days since the citizen's latest reading, in the citizen's timezone.",
    ),
    "citizen.alerts.title": Text("Åbne alarmer", "Open alerts"),
    "citizen.alerts.description": Text(
        "Borgerens alarmer, som ingen har kvitteret for.",
        "The citizen's alerts nobody has acknowledged.",
    ),
    "citizen.bp.title": Text("Blodtryk med grænser", "Blood pressure with thresholds"),
    "citizen.bp.description": Text(
        "Systolisk og diastolisk blodtryk over tid. Stiplede linjer er borgerens "
        "advarsels- (gul) og alarmgrænser (rød); de gule felter er advarselszonerne. "
        "Usandsynlige målinger er udeladt.",
        "Systolic and diastolic pressure over time. Dashed lines are the citizen's "
        "warning (yellow) and alert (red) limits; the yellow areas are the warning zones. "
        "Implausible readings are left out.",
    ),
    "citizen.pulse.title": Text("Puls med grænser", "Pulse with thresholds"),
    "citizen.pulse.description": Text(
        "Puls over tid med borgerens advarsels- og alarmgrænser.",
        "Pulse over time with the citizen's warning and alert limits.",
    ),
    "citizen.sessions.title": Text("Morgen- og aftengennemsnit", "Morning and evening means"),
    "citizen.sessions.description": Text(
        "Gennemsnit i den valgte periode for morgenmålinger (kl. 4-12) og aftenmålinger "
        "(kl. 16-24) i borgerens tidszone, med niveau efter borgerens grænser.",
        "Means over the selected period of morning (04-12 h) and evening (16-24 h) "
        "readings in the citizen's timezone, with their level by the citizen's "
        "thresholds.",
    ),
    "citizen.daily.title": Text(
        "Daglige morgen- og aftengennemsnit", "Daily morning and evening means"
    ),
    "citizen.daily.description": Text(
        "Hver dags morgen- og aftengennemsnit, så forskelle mellem morgen og aften ses.",
        "Each day's morning and evening mean, so differences between morning and evening "
        "show.",
    ),
    "citizen.readings.title": Text("Målinger", "Readings"),
    "citizen.readings.description": Text(
        "Alle blodtryksmålinger i perioden, nyeste først, med målerens statusflag "
        "(bevægelse, uregelmæssig puls, løs manchet, forkert stilling) og tidskilde. En "
        "måling med bevægelse eller løs manchet bør gentages.",
        "Every blood-pressure reading in the period, newest first, with the monitor's "
        "status flags (movement, irregular pulse, loose cuff, improper position) and time "
        "source. A reading with movement or a loose cuff should be repeated.",
    ),
    "citizen.battery.title": Text("Målerens batteri", "Device battery"),
    "citizen.battery.description": Text(
        f"Batteriniveau for borgerens målere. Under {LOW_BATTERY_PERCENT} %: skift batterier.",
        f"Battery level of the citizen's monitors. Below {LOW_BATTERY_PERCENT} %: change "
        "batteries.",
    ),
    "citizen.devices.title": Text("Måler og gateway", "Device and gateway"),
    "citizen.devices.description": Text(
        "Borgerens målere og den gateway, hver måler sidst sendte igennem, med gatewayens "
        "status og seneste kontakt.",
        "The citizen's monitors and the gateway each last sent through, with the "
        "gateway's state and last contact.",
    ),
    # Fleet panels ----------------------------------------------------------------------
    "fleet.online.title": Text("Gateways forbundet", "Gateways online"),
    "fleet.online.description": Text(
        "Gateways, hvis seneste status er forbundet.", "Gateways whose last status is online."
    ),
    "fleet.offline.title": Text("Gateways afbrudt", "Gateways offline"),
    "fleet.offline.description": Text(
        "Gateways, der har meldt sig afbrudt via MQTT. Kontakt borgeren eller teknikeren.",
        "Gateways that reported offline (MQTT last will). Contact the citizen or the "
        "technician.",
    ),
    "fleet.unknown.title": Text("Gateways med ukendt status", "Gateways, state unknown"),
    "fleet.unknown.description": Text(
        "Gateways, der har sendt målinger, men aldrig en status.",
        "Gateways that sent readings but never a status.",
    ),
    "fleet.outbox.title": Text("Ventende batches i udbakker", "Batches waiting in outboxes"),
    "fleet.outbox.description": Text(
        "Summen af gatewayernes udbakker: batches, der er gemt, men ikke leveret endnu.",
        "Sum of the gateways' outboxes: batches stored but not delivered yet.",
    ),
    "fleet.low_battery.title": Text("Målere med lavt batteri", "Devices with low battery"),
    "fleet.low_battery.description": Text(
        f"Målere under {LOW_BATTERY_PERCENT} % batteri.",
        f"Devices below {LOW_BATTERY_PERCENT} % battery.",
    ),
    "fleet.gaps_total.title": Text("Manglende batches i perioden", "Missing batches in period"),
    "fleet.gaps_total.description": Text(
        "Batches, der mangler ifølge huller i batch_seq i den valgte periode.",
        "Batches missing according to batch_seq gaps in the selected period.",
    ),
    "fleet.gateways.title": Text("Gatewayoversigt", "Gateway list"),
    "fleet.gateways.description": Text(
        "Alle gateways, afbrudte først: status, seneste kontakt, udbakke, målere, laveste "
        "batteri, version, manglende batches i alt, målinger i karantæne (for en måler, "
        "gatewayen ikke betjener, eller sendt efter spærring; se 'Ikke tildelte målinger') "
        "og hvornår den blev spærret.",
        "Every gateway, offline first: state, last contact, outbox, devices, lowest "
        "battery, version, missing batches in total, quarantined readings (for a device "
        "it does not serve, or sent after it was revoked; see 'Unassigned readings') and "
        "when it was revoked.",
    ),
    "fleet.devices_per_gateway.title": Text("Målere pr. gateway", "Devices per gateway"),
    "fleet.devices_per_gateway.description": Text(
        "Antal målere, der sidst sendte gennem hver gateway.",
        "Devices that last sent through each gateway.",
    ),
    "fleet.outbox_per_gateway.title": Text("Udbakke pr. gateway", "Outbox per gateway"),
    "fleet.outbox_per_gateway.description": Text(
        "Batches i hver gateways udbakke ifølge dens seneste status.",
        "Batches in each gateway's outbox according to its last status.",
    ),
    "fleet.battery.title": Text("Batteriniveau pr. måler", "Battery level per device"),
    "fleet.battery.description": Text(
        "De 50 målere med lavest batteri.", "The 50 devices with the lowest battery."
    ),
    "fleet.gaps_series.title": Text("Huller i batch_seq over tid", "batch_seq gaps over time"),
    "fleet.gaps_series.description": Text(
        "Manglende batches pr. tidsinterval. Huller betyder tabte eller ikke-leverede "
        "batches; undersøg gatewayen.",
        "Missing batches per interval. Gaps mean lost or undelivered batches; inspect the "
        "gateway.",
    ),
    "fleet.gaps_table.title": Text("Seneste huller i batch_seq", "Latest batch_seq gaps"),
    "fleet.gaps_table.description": Text(
        "Hvert hul i perioden: gateway, forventet og modtaget batch_seq.",
        "Each gap in the period: gateway, expected and received batch_seq.",
    ),
    # Ingest panels ---------------------------------------------------------------------
    "ingest.readings_total.title": Text("Modtagne målinger", "Readings received"),
    "ingest.readings_total.description": Text(
        "Målinger gemt af hubben i perioden.", "Readings stored by the hub in the period."
    ),
    "ingest.dead_total.title": Text("Afviste beskeder", "Dead letters"),
    "ingest.dead_total.description": Text(
        "Beskeder, hubben ikke kunne læse eller godkende, i perioden. De er gemt med "
        "årsag og rå data.",
        "Messages the hub could not parse or accept in the period. They are kept with "
        "their reason and raw bytes.",
    ),
    "ingest.implausible_total.title": Text("Usandsynlige målinger", "Implausible readings"),
    "ingest.implausible_total.description": Text(
        "Målinger uden for fysiologiske grænser i perioden: gemt og markeret, udeladt af "
        "rapporter.",
        "Readings beyond physiological limits in the period: stored and flagged, left out "
        "of reports.",
    ),
    "ingest.unassigned_total.title": Text("Målinger uden borger", "Unassigned readings"),
    "ingest.unassigned_total.description": Text(
        "Målinger fra en måler, som ingen borger har på måletidspunktet. Tildel måleren i "
        "homevitals.",
        "Readings from a device nobody is assigned to at the time. Assign the device in "
        "homevitals.",
    ),
    "ingest.lag_stat.title": Text("Forsinkelse gateway → hub, 95 %", "Lag gateway → hub, p95"),
    "ingest.lag_stat.description": Text(
        "95 % af målingerne var gemt i databasen inden for denne tid, efter gatewayen "
        "modtog dem.",
        "95 % of readings were stored in the database within this time after the gateway "
        "received them.",
    ),
    "ingest.rate.title": Text("Målinger pr. minut", "Readings per minute"),
    "ingest.rate.description": Text(
        "Målinger gemt pr. minut, efter hubbens modtagetid.",
        "Readings stored per minute, by the hub's receive time.",
    ),
    "ingest.lag.title": Text("Ende-til-ende-forsinkelse", "End-to-end lag"),
    "ingest.lag.description": Text(
        "Tid fra måling til database (median og 95 %) og fra gateway til database (95 %). "
        "Stor forskel betyder målinger, der ventede i en udbakke.",
        "Time from measurement to database (median and p95) and from gateway to database "
        "(p95). A large gap means readings waited in an outbox.",
    ),
    "ingest.dead_by_reason.title": Text("Afviste beskeder pr. årsag", "Dead letters by reason"),
    "ingest.dead_by_reason.description": Text(
        "Afviste beskeder i perioden, grupperet efter årsagskode.",
        "Dead letters in the period, by reason code.",
    ),
    "ingest.dead_list.title": Text("Seneste afviste beskeder", "Latest dead letters"),
    "ingest.dead_list.description": Text(
        "De nyeste afviste beskeder med årsag og forklaring (ikke indhold).",
        "The newest dead letters with reason and explanation (not the payload).",
    ),
    "ingest.implausible_series.title": Text(
        "Usandsynlige målinger over tid", "Implausible readings over time"
    ),
    "ingest.implausible_series.description": Text(
        "Antal usandsynlige målinger pr. tidsinterval.",
        "Implausible readings per interval.",
    ),
    "ingest.implausible_list.title": Text(
        "Seneste usandsynlige målinger", "Latest implausible readings"
    ),
    "ingest.implausible_list.description": Text(
        "Usandsynlige målinger med årsag, måler og gateway.",
        "Implausible readings with reason, device and gateway.",
    ),
    # Columns and series ----------------------------------------------------------------
    "col.label": Text("Borger", "Citizen"),
    "col.care_team": Text("Plejegruppe", "Care team"),
    "col.last_measured_at": Text("Seneste måling", "Last reading"),
    "col.systolic": Text("Systolisk", "Systolic"),
    "col.diastolic": Text("Diastolisk", "Diastolic"),
    "col.pulse_rate": Text("Puls", "Pulse"),
    "col.level": Text("Niveau", "Level"),
    "col.last_systolic": Text("Systolisk", "Systolic"),
    "col.last_diastolic": Text("Diastolisk", "Diastolic"),
    "col.last_pulse": Text("Puls", "Pulse"),
    "col.last_level": Text("Niveau", "Level"),
    "col.mean7_systolic": Text("Gns. 7 dage, systolisk", "7-day mean, systolic"),
    "col.mean7_diastolic": Text("Gns. 7 dage, diastolisk", "7-day mean, diastolic"),
    "col.mean7_readings": Text("Målinger, 7 dage", "Readings, 7 days"),
    "col.mean7_level": Text("Niveau, 7 dage", "Level, 7 days"),
    "col.open_alerts": Text("Åbne alarmer", "Open alerts"),
    "col.days_since_last": Text("Dage siden måling", "Days since reading"),
    "col.battery_min": Text("Laveste batteri", "Lowest battery"),
    "col.battery_level": Text("Batteri", "Battery"),
    "col.gateway_state": Text("Gatewaystatus", "Gateway state"),
    "col.opened_at": Text("Oprettet", "Opened"),
    "col.alert_type": Text("Alarmtype", "Alert type"),
    "col.metric": Text("Måletype", "Metric"),
    "col.state": Text("Status", "State"),
    "col.value": Text("Værdi", "Value"),
    "col.measured_at": Text("Målt", "Measured"),
    "col.time": Text("Tidspunkt", "Time"),
    "col.body_movement": Text("Bevægelse", "Movement"),
    "col.irregular_pulse": Text("Uregelmæssig puls", "Irregular pulse"),
    "col.cuff_fit_loose": Text("Løs manchet", "Loose cuff"),
    "col.improper_position": Text("Forkert stilling", "Improper position"),
    "col.implausible": Text("Usandsynlig", "Implausible"),
    "col.clock_in_future": Text("Ur i fremtiden", "Clock in future"),
    "col.time_source": Text("Tidskilde", "Time source"),
    "col.gateway_id": Text("Gateway-id", "Gateway ID"),
    "col.session": Text("Tidsrum", "Session"),
    "col.readings": Text("Antal målinger", "Readings"),
    "col.device": Text("Måler", "Device"),
    "col.battery_at": Text("Batteri opgivet", "Battery reported"),
    "col.device_last_seen": Text("Måler sidst hørt", "Device last heard"),
    "col.gateway_last_seen": Text("Gateway, seneste kontakt", "Gateway, last contact"),
    "col.last_seen": Text("Seneste kontakt", "Last contact"),
    "col.outbox_depth": Text("Udbakke", "Outbox"),
    "col.outbox_full": Text("Udbakke fuld", "Outbox full"),
    "col.devices": Text("Målere", "Devices"),
    "col.version": Text("Softwareversion", "Software version"),
    "col.last_batch_seq": Text("Seneste batch_seq", "Last batch_seq"),
    "col.missing_batches": Text("Manglende batches", "Missing batches"),
    "col.quarantined_readings": Text("Målinger i karantæne", "Quarantined readings"),
    "col.revoked_at": Text("Spærret", "Revoked"),
    "col.detected_at": Text("Opdaget", "Detected"),
    "col.expected_seq": Text("Forventet batch_seq", "Expected batch_seq"),
    "col.received_seq": Text("Modtaget batch_seq", "Received batch_seq"),
    "col.missing": Text("Manglende", "Missing"),
    "col.received_at": Text("Modtaget", "Received"),
    "col.reason": Text("Årsag", "Reason"),
    "col.detail": Text("Forklaring", "Explanation"),
    "col.topic": Text("MQTT-emne", "MQTT topic"),
    "col.payload_bytes": Text("Størrelse", "Size"),
    "col.kind": Text("Målingstype", "Kind"),
    "col.reasons": Text("Årsager", "Reasons"),
    "col.citizen_id": Text("Borgernummer", "Citizen number"),
    "col.count": Text("Antal", "Count"),
    "col.device_id": Text("Målernummer", "Device number"),
    "col.readings_per_minute": Text("Målinger pr. minut", "Readings per minute"),
    "col.lag_p50": Text("Måling → database, median", "Measured → database, median"),
    "col.lag_p95": Text("Måling → database, 95 %", "Measured → database, p95"),
    "col.hub_lag_p95": Text("Gateway → database, 95 %", "Gateway → database, p95"),
    "col.implausible_count": Text("Usandsynlige målinger", "Implausible readings"),
    "col.morning_systolic": Text("Morgen, systolisk", "Morning, systolic"),
    "col.morning_diastolic": Text("Morgen, diastolisk", "Morning, diastolic"),
    "col.evening_systolic": Text("Aften, systolisk", "Evening, systolic"),
    "col.evening_diastolic": Text("Aften, diastolisk", "Evening, diastolic"),
    "col.alert_low": Text("alarmgrænse, lav", "alert limit, low"),
    "col.warn_low": Text("advarselsgrænse, lav", "warning limit, low"),
    "col.warn_high": Text("advarselsgrænse, høj", "warning limit, high"),
    "col.alert_high": Text("alarmgrænse, høj", "alert limit, high"),
    # Value mappings --------------------------------------------------------------------
    "map.level.alert": Text("Alarm", "Alert"),
    "map.level.warning": Text("Advarsel", "Warning"),
    "map.level.normal": Text("Normal", "Normal"),
    "map.level.none": Text("Ingen måling", "No reading"),
    "map.alert_state.open": Text("Åben", "Open"),
    "map.alert_state.acknowledged": Text("Kvitteret", "Acknowledged"),
    "map.alert_type.threshold": Text("Grænseværdi", "Threshold"),
    "map.alert_type.missing_measurements": Text("Manglende målinger", "Missing readings"),
    # An alert's metric: a threshold metric, or a kind (the kind registry's labels).
    **{f"map.metric.{m.name}": Text(*m.label) for m in METRICS},
    **{f"map.metric.{info.kind}": Text(*info.label) for info in KINDS.values()},
    "map.gateway.online": Text("Forbundet", "Online"),
    "map.gateway.offline": Text("Afbrudt", "Offline"),
    "map.gateway.unknown": Text("Ukendt", "Unknown"),
    "map.gateway.none": Text("Ingen gateway", "No gateway"),
    "map.time_source.device": Text("Målerens ur", "Device clock"),
    "map.time_source.device_corrected": Text("Målerens ur, korrigeret", "Device clock, corrected"),
    "map.time_source.gateway": Text("Gatewayens ur", "Gateway clock"),
    "map.session.morning": Text("Morgen", "Morning"),
    "map.session.evening": Text("Aften", "Evening"),
    "map.bool.true": Text("Ja", "Yes"),
    "map.bool.false": Text("Nej", "No"),
}
