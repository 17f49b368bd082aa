"""Record Access Control Point (0x2A52): the stored-records dialogue of the Glucose Service.

Layout: Glucose Service (GLS) v1.0.1, 3.4 (Record Access Control Point) and the Glucose
Profile (GLP) v1.0.1, 4.9-4.10 (the procedures): op code u8 | operator u8 | operand. The
collector writes a request (:class:`RacpRequest`); the device indicates a number of records
or a response code (:class:`RacpResponse`). The gateway filters by sequence number, so that
a backlog read asks only for the records after the last one it has.

Trailing bytes are refused, as in every decoder of this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self

from gatt.reader import ByteReader, ByteWriter, as_code, code_name
from gatt.uuids import CharacteristicUUID


class RacpOpcode(IntEnum):
    """Record Access Control Point op codes (GLS 3.4)."""

    REPORT_STORED_RECORDS = 0x01
    DELETE_STORED_RECORDS = 0x02
    ABORT_OPERATION = 0x03
    REPORT_NUMBER_OF_STORED_RECORDS = 0x04
    NUMBER_OF_STORED_RECORDS_RESPONSE = 0x05
    RESPONSE_CODE = 0x06


class RacpOperator(IntEnum):
    NULL = 0x00
    ALL_RECORDS = 0x01
    LESS_THAN_OR_EQUAL_TO = 0x02
    GREATER_THAN_OR_EQUAL_TO = 0x03
    WITHIN_RANGE_OF = 0x04
    FIRST_RECORD = 0x05
    LAST_RECORD = 0x06


class RacpFilterType(IntEnum):
    """RACP operand filter types (GLS 3.4); the gateway filters by sequence number."""

    SEQUENCE_NUMBER = 0x01
    USER_FACING_TIME = 0x02


class RacpResponseCode(IntEnum):
    SUCCESS = 0x01
    OP_CODE_NOT_SUPPORTED = 0x02
    INVALID_OPERATOR = 0x03
    OPERATOR_NOT_SUPPORTED = 0x04
    INVALID_OPERAND = 0x05
    NO_RECORDS_FOUND = 0x06
    ABORT_UNSUCCESSFUL = 0x07
    PROCEDURE_NOT_COMPLETED = 0x08
    OPERAND_NOT_SUPPORTED = 0x09


@dataclass(frozen=True, slots=True)
class RacpRequest:
    """A request written to the Record Access Control Point (0x2A52).

    Layout: op code u8 | operator u8 | [filter type u8 | operand]. With the
    sequence-number filter the operand is one uint16 (``<=``, ``>=``) or two (range);
    other filter types keep their operand bytes as sent in ``filter_operand``.
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.RECORD_ACCESS_CONTROL_POINT

    opcode: RacpOpcode | int
    operator: RacpOperator | int = RacpOperator.NULL
    filter_type: RacpFilterType | int | None = None
    sequence_numbers: tuple[int, ...] = ()
    filter_operand: bytes = b""

    def __post_init__(self) -> None:
        by_sequence = self.filter_type == RacpFilterType.SEQUENCE_NUMBER
        if self.sequence_numbers and not by_sequence:
            raise ValueError("sequence_numbers need filter_type SEQUENCE_NUMBER")
        if self.filter_operand and (self.filter_type is None or by_sequence):
            raise ValueError("filter_operand is for filter types other than SEQUENCE_NUMBER")

    @classmethod
    def report_all(cls) -> Self:
        """Report all stored records (op code 0x01, operator 'all records')."""
        return cls(RacpOpcode.REPORT_STORED_RECORDS, RacpOperator.ALL_RECORDS)

    @classmethod
    def report_after(cls, sequence_number: int) -> Self:
        """Report records with a sequence number GREATER THAN OR EQUAL TO ``sequence_number``.

        RACP has no strict "after": to fetch only records newer than the last one stored,
        pass that record's sequence number plus one.
        """
        return cls(RacpOpcode.REPORT_STORED_RECORDS, RacpOperator.GREATER_THAN_OR_EQUAL_TO,
                   RacpFilterType.SEQUENCE_NUMBER, (sequence_number,))

    @classmethod
    def number_of_records(cls) -> Self:
        """Ask how many records are stored (op code 0x04, operator 'all records')."""
        return cls(RacpOpcode.REPORT_NUMBER_OF_STORED_RECORDS, RacpOperator.ALL_RECORDS)

    @classmethod
    def abort(cls) -> Self:
        """Abort the running procedure (op code 0x03, operator null, no operand)."""
        return cls(RacpOpcode.ABORT_OPERATION, RacpOperator.NULL)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        opcode = as_code(RacpOpcode, reader.u8("the op code"))
        operator = as_code(RacpOperator, reader.u8("the operator"))
        if not reader.remaining:
            return cls(opcode, operator)
        filter_type = as_code(RacpFilterType, reader.u8("the filter type"))
        if filter_type != RacpFilterType.SEQUENCE_NUMBER:
            return cls(opcode, operator, filter_type, filter_operand=reader.rest())
        numbers: list[int] = []
        while reader.remaining:
            numbers.append(reader.u16("a sequence number"))
        return cls(opcode, operator, filter_type, tuple(numbers))

    def __bytes__(self) -> bytes:
        writer = ByteWriter().u8(self.opcode, "opcode").u8(self.operator, "operator")
        if self.filter_type is not None:
            writer.u8(self.filter_type, "filter_type")
        for number in self.sequence_numbers:
            writer.u16(number, "sequence_numbers")
        return writer.raw(self.filter_operand).to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        return {
            "opcode": code_name(self.opcode),
            "operator": code_name(self.operator),
            "filter_type": code_name(self.filter_type) if self.filter_type is not None else None,
            "sequence_numbers": list(self.sequence_numbers),
            "filter_operand": self.filter_operand.hex(),
        }


@dataclass(frozen=True, slots=True)
class RacpResponse:
    """A Record Access Control Point indication (0x2A52) from the device.

    Either a Number of Stored Records response (op code 0x05, operand uint16) or a Response
    Code (op code 0x06, operand: the request op code and a response code value).
    """

    UUID: ClassVar[CharacteristicUUID] = CharacteristicUUID.RECORD_ACCESS_CONTROL_POINT

    opcode: RacpOpcode
    operator: RacpOperator | int = RacpOperator.NULL
    number_of_records: int | None = None
    request_opcode: RacpOpcode | int | None = None
    response_code: RacpResponseCode | int | None = None

    def __post_init__(self) -> None:
        if self.opcode == RacpOpcode.NUMBER_OF_STORED_RECORDS_RESPONSE:
            valid = (self.number_of_records is not None and self.request_opcode is None
                     and self.response_code is None)
        elif self.opcode == RacpOpcode.RESPONSE_CODE:
            valid = (self.number_of_records is None and self.request_opcode is not None
                     and self.response_code is not None)
        else:
            valid = False
        if not valid:
            raise ValueError("a response is NUMBER_OF_STORED_RECORDS_RESPONSE with "
                             "number_of_records, or RESPONSE_CODE with request_opcode and "
                             "response_code")

    @classmethod
    def for_number_of_records(cls, count: int) -> Self:
        return cls(RacpOpcode.NUMBER_OF_STORED_RECORDS_RESPONSE, number_of_records=count)

    @classmethod
    def for_response_code(cls, request_opcode: RacpOpcode | int,
                          code: RacpResponseCode | int) -> Self:
        return cls(RacpOpcode.RESPONSE_CODE, request_opcode=request_opcode, response_code=code)

    @property
    def succeeded(self) -> bool:
        """True for a number-of-records response or a response code of SUCCESS."""
        return self.response_code in (None, RacpResponseCode.SUCCESS)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = ByteReader(data, cls.UUID)
        opcode = reader.u8("the op code")
        if opcode == RacpOpcode.NUMBER_OF_STORED_RECORDS_RESPONSE:
            operator = as_code(RacpOperator, reader.u8("the operator"))
            count = reader.u16("the number of records")
            reader.finish("the number of records")
            return cls(RacpOpcode.NUMBER_OF_STORED_RECORDS_RESPONSE, operator,
                       number_of_records=count)
        if opcode == RacpOpcode.RESPONSE_CODE:
            operator = as_code(RacpOperator, reader.u8("the operator"))
            request = as_code(RacpOpcode, reader.u8("the request op code"))
            code = as_code(RacpResponseCode, reader.u8("the response code value"))
            reader.finish("the response code value")
            return cls(RacpOpcode.RESPONSE_CODE, operator, request_opcode=request,
                       response_code=code)
        raise reader.invalid(0, f"a response op code 0x05 or 0x06, found 0x{opcode:02X}")

    def __bytes__(self) -> bytes:
        writer = ByteWriter().u8(self.opcode, "opcode").u8(self.operator, "operator")
        if self.number_of_records is not None:
            writer.u16(self.number_of_records, "number_of_records")
        if self.request_opcode is not None and self.response_code is not None:
            writer.u8(self.request_opcode, "request_opcode")
            writer.u8(self.response_code, "response_code")
        return writer.to_bytes()

    def to_json_dict(self) -> dict[str, object]:
        return {
            "opcode": code_name(self.opcode),
            "operator": code_name(self.operator),
            "number_of_records": self.number_of_records,
            "request_opcode": code_name(self.request_opcode)
            if self.request_opcode is not None else None,
            "response_code": code_name(self.response_code)
            if self.response_code is not None else None,
        }
