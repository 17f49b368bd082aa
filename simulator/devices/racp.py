"""Record Access Control Point (Glucose Service 1.0.1, 3.4; GSS 3.178), the meter's side.

Pure functions over the gateway's RACP models: parse a request, select the records it names,
build the response. The glucose meter runs them.
"""

from __future__ import annotations

from collections.abc import Sequence

from gatt.errors import DecodeError
from gatt.racp import (
    RacpFilterType,
    RacpOpcode,
    RacpOperator,
    RacpRequest,
    RacpResponse,
    RacpResponseCode,
)
from simulator.errors import SimulatorError
from simulator.model import StoredRecord

# Core Specification Supplement, Part B, 1.2: common profile and service error codes.
ATT_CCCD_IMPROPERLY_CONFIGURED = 0xFD
ATT_PROCEDURE_ALREADY_IN_PROGRESS = 0xFE

_RECORD_OPCODES = (
    RacpOpcode.REPORT_STORED_RECORDS,
    RacpOpcode.DELETE_STORED_RECORDS,
    RacpOpcode.REPORT_NUMBER_OF_STORED_RECORDS,
)


class RacpFailure(SimulatorError):
    """A request the meter answers with a Response Code other than Success."""

    def __init__(self, request_opcode: int, code: RacpResponseCode) -> None:
        self.request_opcode = request_opcode
        self.code = code
        super().__init__(f"RACP op code 0x{request_opcode:02X}: {code.name}")

    def response(self) -> bytes:
        return bytes(RacpResponse.for_response_code(self.request_opcode, self.code))


def parse_request(value: bytes) -> RacpRequest:
    """The request, or ``RacpFailure`` for bytes no meter could act on."""
    try:
        request = RacpRequest.from_bytes(value)
    except DecodeError as error:
        opcode = value[0] if value else 0
        raise RacpFailure(opcode, RacpResponseCode.INVALID_OPERATOR) from error
    if request.opcode not in (*_RECORD_OPCODES, RacpOpcode.ABORT_OPERATION):
        raise RacpFailure(int(request.opcode), RacpResponseCode.OP_CODE_NOT_SUPPORTED)
    return request


def select(request: RacpRequest, records: Sequence[StoredRecord]) -> list[StoredRecord]:
    """The records a report/delete/count request applies to, oldest first (GLS 3.4.1)."""
    opcode = int(request.opcode)
    operator = request.operator
    has_operand = request.filter_type is not None
    if operator == RacpOperator.NULL or operator > RacpOperator.LAST_RECORD:
        raise RacpFailure(opcode, RacpResponseCode.INVALID_OPERATOR)
    if operator in (RacpOperator.ALL_RECORDS, RacpOperator.FIRST_RECORD, RacpOperator.LAST_RECORD):
        if has_operand:
            raise RacpFailure(opcode, RacpResponseCode.INVALID_OPERAND)
        if operator == RacpOperator.ALL_RECORDS:
            return list(records)
        if not records:
            return []
        return [records[0] if operator == RacpOperator.FIRST_RECORD else records[-1]]
    # <=, >= and "within range" take a filter: this meter supports sequence numbers only.
    if not has_operand:
        raise RacpFailure(opcode, RacpResponseCode.INVALID_OPERAND)
    if request.filter_type != RacpFilterType.SEQUENCE_NUMBER:
        raise RacpFailure(opcode, RacpResponseCode.OPERAND_NOT_SUPPORTED)
    numbers = request.sequence_numbers
    wanted = 2 if operator == RacpOperator.WITHIN_RANGE_OF else 1
    if len(numbers) != wanted:
        raise RacpFailure(opcode, RacpResponseCode.INVALID_OPERAND)
    if operator == RacpOperator.WITHIN_RANGE_OF:
        low, high = numbers
        if low > high:
            raise RacpFailure(opcode, RacpResponseCode.INVALID_OPERAND)
        return [r for r in records if low <= r.seq <= high]
    (limit,) = numbers
    if operator == RacpOperator.LESS_THAN_OR_EQUAL_TO:
        return [r for r in records if r.seq <= limit]
    return [r for r in records if r.seq >= limit]


def response_code(request_opcode: int, code: RacpResponseCode) -> bytes:
    return bytes(RacpResponse.for_response_code(request_opcode, code))


def number_of_records(count: int) -> bytes:
    return bytes(RacpResponse.for_number_of_records(count))
