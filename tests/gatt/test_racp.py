"""Record Access Control Point (0x2A52): golden vectors, GLS 3.4."""

from __future__ import annotations

import base64

import pytest

from gatt import decode_characteristic
from gatt.errors import DecodeError, InvalidValue, TruncatedPayload
from gatt.glucose import (
    ConcentrationUnit,
    GlucoseMeasurement,
)
from gatt.racp import (
    RacpFilterType,
    RacpOpcode,
    RacpOperator,
    RacpRequest,
    RacpResponse,
    RacpResponseCode,
)

pytestmark = pytest.mark.unit

# Real capture from a glucose meter, posted in dotintent/react-native-ble-plx issue #652
# ("How to enable RACP to read all measurements on Glucose device?"): base64
# "AwYA5AcEDRAmCgAAeLDx", a reading the poster knew to be 120 (mg/dL). Concentration
# 0xB078 is 120e-5 kg/L = 120 mg/dL; type 1 (capillary whole blood), location 15 (n/a).
RN_BLE_PLX_CAPTURE = base64.b64decode("AwYA5AcEDRAmCgAAeLDx")


# RACP requests, GLS 3.4. "0401" (report number of stored records, all) is the
# request written in the react-native-ble-plx issue #652 cited above.
@pytest.mark.parametrize(
    ("request_", "payload"),
    [
        (RacpRequest.report_all(), "0101"),
        (RacpRequest.report_after(0x0105), "0103010501"),
        (RacpRequest.number_of_records(), "0401"),
        (RacpRequest.abort(), "0300"),
    ],
)
def test_racp_requests(request_: RacpRequest, payload: str) -> None:
    assert bytes(request_) == bytes.fromhex(payload)
    assert RacpRequest.from_bytes(bytes.fromhex(payload)) == request_


def test_racp_report_after_is_greater_than_or_equal() -> None:
    request = RacpRequest.report_after(42)
    assert request.operator is RacpOperator.GREATER_THAN_OR_EQUAL_TO
    assert request.filter_type is RacpFilterType.SEQUENCE_NUMBER
    assert request.sequence_numbers == (42,)
    assert request.to_json_dict() == {
        "opcode": "report_stored_records", "operator": "greater_than_or_equal_to",
        "filter_type": "sequence_number", "sequence_numbers": [42], "filter_operand": "",
    }


def test_racp_request_range_and_other_filters() -> None:
    within = RacpRequest.from_bytes(bytes.fromhex("0104010a001400"))
    assert within.sequence_numbers == (10, 20)
    by_time = RacpRequest.from_bytes(bytes.fromhex("010302e80701010000"))
    assert by_time.filter_type is RacpFilterType.USER_FACING_TIME
    assert by_time.filter_operand == bytes.fromhex("e80701010000")
    assert bytes(by_time) == bytes.fromhex("010302e80701010000")
    with pytest.raises(TruncatedPayload, match="a sequence number"):
        RacpRequest.from_bytes(bytes.fromhex("0103010a"))
    with pytest.raises(TruncatedPayload, match="the operator"):
        RacpRequest.from_bytes(bytes.fromhex("01"))
    with pytest.raises(ValueError, match="need filter_type"):
        RacpRequest(RacpOpcode.REPORT_STORED_RECORDS, RacpOperator.ALL_RECORDS,
                    sequence_numbers=(1,))
    with pytest.raises(ValueError, match="other than SEQUENCE_NUMBER"):
        RacpRequest(RacpOpcode.REPORT_STORED_RECORDS, RacpOperator.ALL_RECORDS,
                    filter_operand=b"\x01")


def test_racp_responses() -> None:
    count = RacpResponse.from_bytes(bytes.fromhex("05002a00"))
    assert count == RacpResponse.for_number_of_records(42)
    assert count.succeeded
    assert bytes(count) == bytes.fromhex("05002a00")
    done = RacpResponse.from_bytes(bytes.fromhex("06000101"))
    assert done == RacpResponse.for_response_code(RacpOpcode.REPORT_STORED_RECORDS,
                                                  RacpResponseCode.SUCCESS)
    assert done.succeeded
    none_found = decode_characteristic(0x2A52, bytes.fromhex("06000106"))
    assert isinstance(none_found, RacpResponse)
    assert none_found.response_code is RacpResponseCode.NO_RECORDS_FOUND
    assert not none_found.succeeded
    assert none_found.to_json_dict() == {
        "opcode": "response_code", "operator": "null", "number_of_records": None,
        "request_opcode": "report_stored_records", "response_code": "no_records_found",
    }
    assert bytes(none_found) == bytes.fromhex("06000106")


def test_racp_response_errors() -> None:
    with pytest.raises(InvalidValue, match=r"0x2A52: offset 0: expected a response op code"):
        RacpResponse.from_bytes(bytes.fromhex("0101"))
    with pytest.raises(DecodeError, match="trailing"):
        RacpResponse.from_bytes(bytes.fromhex("05002a0000"))
    with pytest.raises(TruncatedPayload, match="the response code value"):
        RacpResponse.from_bytes(bytes.fromhex("060001"))
    with pytest.raises(ValueError, match="a response is"):
        RacpResponse(RacpOpcode.REPORT_STORED_RECORDS)
    with pytest.raises(ValueError, match="a response is"):
        RacpResponse(RacpOpcode.RESPONSE_CODE, number_of_records=1)


def test_a_measurement_without_concentration_reports_no_unit() -> None:
    # Flags 0x00: no concentration field (GLS 3.1), so the units flag qualifies nothing.
    m = GlucoseMeasurement.from_bytes(bytes.fromhex("00 0700 e8070506070809"))
    assert m.concentration is None
    assert m.concentration_unit is None
    assert m.invalid_values == ()
    assert m.to_json_dict()["concentration_unit"] is None
    assert m.canonical is None
    assert bytes(m) == bytes.fromhex("00 0700 e8070506070809")
    with pytest.raises(ValueError, match="concentration unit needs a concentration"):
        GlucoseMeasurement(sequence_number=1, concentration_unit=ConcentrationUnit.MOL_PER_L)
