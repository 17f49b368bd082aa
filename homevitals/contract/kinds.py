"""The reading-kind registry: every fact about a kind of reading, in one table (docs/adding-a-kind.md).

Per kind: its canonical unit and the original units a gateway may name, the field of
``values`` that is its main value, the metrics checked against thresholds, the plausibility
limits, the FHIR Observations (LOINC and UCUM codes) and IEEE 11073 device profile, Danish and
English labels, and the GATT service and characteristics that produce it. Ingest, the API,
FHIR, the gateway, the web app and the dashboards read this table instead of keeping their
own copies, as bthome-ble's ``MEAS_TYPES`` drives its parser.

Units are the contract's (``Cel``, not ``°C``); a metric's ``symbol`` is what a person reads.
GATT UUIDs are the Bluetooth SIG's 16-bit assigned numbers as plain integers: the contract
already speaks them (``raw.uuid``), and the core imports no other package (the tests hold
them to :mod:`gatt.uuids`). What SQL migrations repeat is listed in docs/adding-a-kind.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, NamedTuple

from homevitals.contract.models import Kind
from homevitals.errors import HomevitalsError

#: ``values`` fields with a column of their own in ``readings``, filled for every kind that has
#: them (migration 0001); any other kind's main value goes into ``readings.value``.
OWN_COLUMNS: Final = frozenset({"systolic", "diastolic", "mean_arterial_pressure", "pulse_rate"})


class Label(NamedTuple):
    """A name in the staff's language (Danish, the default) and in English."""

    da: str
    en: str


@dataclass(frozen=True, slots=True)
class Metric:
    """A value checked against a citizen's thresholds; ``name`` is both the threshold metric
    (``thresholds.metric``) and the field of ``values`` it is read from."""

    name: str
    unit: str  # the contract's unit, as in a reading's ``unit`` and ``default_thresholds.unit``
    symbol: str  # the unit as a person reads it
    label: Label


@dataclass(frozen=True, slots=True)
class PlausibleRange:
    """An inclusive range of a ``values`` field; outside it a reading is ``implausible``."""

    low: float
    high: float
    unit: str
    why: str


@dataclass(frozen=True, slots=True)
class FhirComponent:
    """One coded component of a panel Observation (blood pressure's systolic, ...).

    An ``optional`` component is left out when the reading lacks it; any other is sent with a
    ``dataAbsentReason`` instead.
    """

    field: str
    loinc: str
    display: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class FhirObservation:
    """One kind of FHIR Observation the API exports (docs/fhir.md).

    A panel has ``components`` (all in ``unit``/``ucum``); otherwise the Observation carries
    one quantity, the ``values`` field ``field``. An ``optional`` one is exported only when
    the reading has its value or names it invalid (a blood-pressure reading without a pulse
    has no heart-rate Observation).
    """

    prefix: str  # of the Observation id, ``{prefix}-{reading_id}``
    codes: tuple[tuple[str, str], ...]  # (LOINC code, display); the first is the main one
    text: str
    profile: str
    unit: str = ""
    ucum: str = ""
    field: str | None = None
    components: tuple[FhirComponent, ...] = ()
    optional: bool = False


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """IEEE 11073-10101 device specialization code of the devices that measure a kind."""

    code: str
    display: str


@dataclass(frozen=True, slots=True)
class GattSource:
    """The GATT service a device of this kind advertises, and the characteristics whose
    values are readings of this kind (16-bit SIG UUIDs)."""

    service: int
    characteristics: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class KindInfo:
    kind: Kind
    label: Label
    unit: str  # canonical: the contract's ``unit`` of this kind
    original_units: tuple[str, ...]  # what ``original_unit`` may say when the device sent another
    main_value: str | None  # the ``values`` field stored in ``readings.value``; None: own columns
    alert_metrics: tuple[Metric, ...]
    limits: Mapping[str, PlausibleRange]
    gatt: GattSource
    device_profile: DeviceProfile
    fhir: tuple[FhirObservation, ...] = ()
    fhir_not_exported: str | None = None  # why a kind has no Observation yet

    def stored_column(self, value_field: str) -> str:
        """The ``readings`` column that holds this ``values`` field of the kind."""
        if value_field == self.main_value:
            return "value"
        if value_field in OWN_COLUMNS:
            return value_field
        raise UnknownKindFact(self.kind, f"column of values field {value_field!r}")


class UnknownKindFact(HomevitalsError):
    """Something asked the registry for a kind or fact it does not hold."""

    def __init__(self, kind: str, fact: str) -> None:
        self.kind = kind
        self.fact = fact
        super().__init__(f"reading kind {kind!r} has no {fact} in homevitals/contract/kinds.py")


# -- metrics (pulse rate is measured by two kinds) -------------------------------------------
SYSTOLIC: Final = Metric("systolic", "mmHg", "mmHg", Label("Systolisk blodtryk", "Systolic pressure"))
DIASTOLIC: Final = Metric("diastolic", "mmHg", "mmHg", Label("Diastolisk blodtryk", "Diastolic pressure"))
PULSE_RATE: Final = Metric("pulse_rate", "/min", "/min", Label("Puls", "Pulse"))
WEIGHT: Final = Metric("weight", "kg", "kg", Label("Vægt", "Weight"))
GLUCOSE: Final = Metric("glucose", "mmol/L", "mmol/L", Label("Blodsukker", "Glucose"))
TEMPERATURE: Final = Metric("temperature", "Cel", "°C", Label("Temperatur", "Temperature"))
SPO2: Final = Metric("spo2", "%", "%", Label("Iltmætning", "Oxygen saturation"))

# -- FHIR ------------------------------------------------------------------------------------
HEART_RATE_OBSERVATION: Final = FhirObservation(
    "hr",
    (("8867-4", "Heart rate"),),
    "Heart rate",
    "http://hl7.org/fhir/StructureDefinition/heartrate",
    "beats/minute",
    "/min",
    field="pulse_rate",
    optional=True,
)

_PULSE_LIMIT_WHY = "outside 20-250 no home monitor reads reliably"

KINDS: Final[Mapping[Kind, KindInfo]] = MappingProxyType({
    Kind.BLOOD_PRESSURE: KindInfo(
        kind=Kind.BLOOD_PRESSURE,
        label=Label("Blodtryk", "Blood pressure"),
        unit="mmHg",
        original_units=("kPa",),
        main_value=None,
        alert_metrics=(SYSTOLIC, DIASTOLIC, PULSE_RATE),
        limits=MappingProxyType({
            "systolic": PlausibleRange(
                40, 300, "mmHg", "oscillometric cuffs measure about 40-280; beyond is artefact"
            ),
            "diastolic": PlausibleRange(20, 200, "mmHg", "below 20 or above 200 is cuff or decoding error"),
            "mean_arterial_pressure": PlausibleRange(
                30, 250, "mmHg", "follows from the systolic/diastolic limits"
            ),
            "pulse_rate": PlausibleRange(20, 250, "/min", _PULSE_LIMIT_WHY),
        }),
        gatt=GattSource(service=0x1810, characteristics=(0x2A35,)),
        device_profile=DeviceProfile("528391", "MDC_DEV_SPEC_PROFILE_BPM"),
        fhir=(
            FhirObservation(
                "bp",
                (("85354-9", "Blood pressure panel with all children optional"),),
                "Blood pressure",
                "http://hl7.org/fhir/StructureDefinition/bp",
                "mmHg",
                "mm[Hg]",
                components=(
                    FhirComponent("systolic", "8480-6", "Systolic blood pressure"),
                    FhirComponent("diastolic", "8462-4", "Diastolic blood pressure"),
                    FhirComponent("mean_arterial_pressure", "8478-0", "Mean blood pressure", optional=True),
                ),
            ),
            HEART_RATE_OBSERVATION,
        ),
    ),
    Kind.WEIGHT: KindInfo(
        kind=Kind.WEIGHT,
        label=Label("Vægt", "Weight"),
        unit="kg",
        original_units=("lb",),
        main_value="weight",
        alert_metrics=(WEIGHT,),
        limits=MappingProxyType({
            "weight": PlausibleRange(
                2, 400, "kg", "bathroom scales; 2 kg allows an infant, 400 kg any adult"
            ),
            "bmi": PlausibleRange(8, 150, "kg/m2", "below 8 or above 150 is not compatible with life"),
            "height": PlausibleRange(0.3, 2.8, "m", "the tallest recorded person was 2.72 m"),
        }),
        gatt=GattSource(service=0x181D, characteristics=(0x2A9D,)),
        device_profile=DeviceProfile("528399", "MDC_DEV_SPEC_PROFILE_SCALE"),
        fhir=(
            FhirObservation(
                "wt",
                (("29463-7", "Body weight"),),
                "Body weight",
                "http://hl7.org/fhir/StructureDefinition/bodyweight",
                "kg",
                "kg",
                field="weight",
            ),
        ),
    ),
    Kind.GLUCOSE: KindInfo(
        kind=Kind.GLUCOSE,
        label=Label("Blodsukker", "Glucose"),
        unit="mmol/L",
        original_units=("mg/dL", "mol/L"),
        main_value="glucose",
        alert_metrics=(GLUCOSE,),
        limits=MappingProxyType({
            "glucose": PlausibleRange(
                0.5, 50, "mmol/L", "meters read about 0.6-33.3; beyond is sensor error"
            ),
        }),
        gatt=GattSource(service=0x1808, characteristics=(0x2A18,)),
        device_profile=DeviceProfile("528401", "MDC_DEV_SPEC_PROFILE_GLUCOSE"),
        fhir_not_exported=(
            "not a vital sign: it needs the laboratory category and a decision on LOINC 15074-8 "
            "vs 2339-0 (docs/fhir.md)"
        ),
    ),
    Kind.TEMPERATURE: KindInfo(
        kind=Kind.TEMPERATURE,
        label=Label("Temperatur", "Temperature"),
        unit="Cel",
        original_units=("Fahrenheit",),
        main_value="temperature",
        alert_metrics=(TEMPERATURE,),
        limits=MappingProxyType({
            "temperature": PlausibleRange(
                25, 45, "Cel", "body temperature outside 25-45 degC is a misplaced probe"
            ),
        }),
        gatt=GattSource(service=0x1809, characteristics=(0x2A1C,)),
        device_profile=DeviceProfile("528392", "MDC_DEV_SPEC_PROFILE_TEMP"),
        fhir=(
            FhirObservation(
                "temp",
                (("8310-5", "Body temperature"),),
                "Body temperature",
                "http://hl7.org/fhir/StructureDefinition/bodytemp",
                "C",
                "Cel",
                field="temperature",
            ),
        ),
    ),
    Kind.PULSE_OXIMETRY: KindInfo(
        kind=Kind.PULSE_OXIMETRY,
        label=Label("Iltmætning", "Pulse oximetry"),
        unit="%",
        original_units=(),
        main_value="spo2",
        alert_metrics=(SPO2, PULSE_RATE),
        limits=MappingProxyType({
            "spo2": PlausibleRange(
                50, 100, "%", "saturation cannot exceed 100; below 50 oximeters are not calibrated"
            ),
            "pulse_rate": PlausibleRange(20, 250, "/min", _PULSE_LIMIT_WHY),
        }),
        gatt=GattSource(service=0x1822, characteristics=(0x2A5E,)),
        device_profile=DeviceProfile("528388", "MDC_DEV_SPEC_PROFILE_PULS_OXIM"),
        fhir=(
            HEART_RATE_OBSERVATION,
            FhirObservation(
                "spo2",
                (
                    ("2708-6", "Oxygen saturation in Arterial blood"),
                    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
                ),
                "Oxygen saturation",
                "http://hl7.org/fhir/StructureDefinition/oxygensat",
                "%",
                "%",
                field="spo2",
            ),
        ),
    ),
})


#: The registry keyed by the kind's text, as database rows and payloads carry it.
KINDS_BY_NAME: Final[Mapping[str, KindInfo]] = MappingProxyType({str(k): v for k, v in KINDS.items()})


def kind_info(kind: str) -> KindInfo:
    """The registry entry of a kind given as text (a database row, a payload)."""
    try:
        return KINDS_BY_NAME[kind]
    except KeyError:
        raise UnknownKindFact(kind, "entry") from None


def _unique_metrics() -> tuple[Metric, ...]:
    seen: dict[str, Metric] = {}
    for info in KINDS.values():
        for metric in info.alert_metrics:
            seen.setdefault(metric.name, metric)
    return tuple(seen.values())


#: Every threshold metric, each once, in registry order.
METRICS: Final[tuple[Metric, ...]] = _unique_metrics()
METRICS_BY_NAME: Final[Mapping[str, Metric]] = MappingProxyType({m.name: m for m in METRICS})
#: The kind of each measurement characteristic (16-bit UUID).
KIND_OF_CHARACTERISTIC: Final[Mapping[int, Kind]] = MappingProxyType({
    uuid: info.kind for info in KINDS.values() for uuid in info.gatt.characteristics
})
#: Every FHIR Observation type, each once, in registry order.
FHIR_OBSERVATIONS: Final[tuple[FhirObservation, ...]] = tuple(
    {obs.prefix: obs for info in KINDS.values() for obs in info.fhir}.values()
)
