"""MQTT contract v1, hub -> gateway: the commit acknowledgement of one readings batch.

Topic ``homevitals/v1/gateways/{gateway_id}/acks``, QoS 1, not retained, UTF-8 JSON
(docs/contract.md "Hub acknowledgements"). Ingest publishes one after the database
transaction that stored (or dead-lettered) the batch committed. A gateway that does not
subscribe never sees it; one that does keeps the batch until it arrives.

Additive to contract v1: nothing a gateway publishes changes. The JSON Schema in
docs/contract/acks.v1.schema.json is generated from this model.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Final, Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from homevitals.contract.models import (
    MAX_READINGS_PER_BATCH,
    GatewayId,
    UtcDatetime,
    _Strict,
    is_valid_gateway_id,
)

ACK_SCHEMA_ID: Final = "homevitals.acks.v1"
ACKS_CHANNEL: Final = "acks"


class AckOutcome(StrEnum):
    """What the hub did with the whole batch."""

    COMMITTED = "committed"  # every reading is in the database (stored now or already before)
    DEAD_LETTERED = "dead_lettered"  # the message was refused; it is kept in dead_letters


class HubAck(_Strict):
    """One message on ``homevitals/v1/gateways/{gateway_id}/acks``."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        title="homevitals hub acknowledgement v1",
        json_schema_extra={"$id": "https://homevitals.dk/schemas/acks.v1.schema.json"},
    )

    schema_: Literal["homevitals.acks.v1"] = Field(alias="schema")
    gateway_id: GatewayId
    batch_seq: int = Field(ge=0, le=2**63 - 1, description="The batch_seq of the acknowledged batch")
    outcome: AckOutcome
    reading_ids: list[UUID] = Field(
        max_length=MAX_READINGS_PER_BATCH,
        description="The batch's reading ids the outcome applies to; a gateway deletes a batch only "
        "when these are exactly the batch's ids",
    )
    reason: str | None = Field(
        default=None, max_length=64, description="Dead-letter reason code (dead_lettered only)"
    )
    detail: str | None = Field(default=None, max_length=2000, description="Why, for a person")
    acked_at: UtcDatetime = Field(description="Hub clock (UTC) after the commit")

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    def covers(self, reading_ids: Sequence[str]) -> bool:
        """True when this ack is about exactly these readings (same set of ids)."""
        return {str(reading_id) for reading_id in self.reading_ids} == {str(r) for r in reading_ids}

    @classmethod
    def build(
        cls,
        *,
        gateway_id: str,
        batch_seq: int,
        outcome: AckOutcome,
        reading_ids: Sequence[UUID | str],
        acked_at: datetime,
        reason: str | None = None,
        detail: str | None = None,
    ) -> HubAck:
        return cls.model_validate(
            {
                "schema": ACK_SCHEMA_ID,
                "gateway_id": gateway_id,
                "batch_seq": batch_seq,
                "outcome": outcome,
                "reading_ids": [UUID(str(r)) for r in reading_ids],
                "reason": reason,
                "detail": None if detail is None else detail[:2000],
                "acked_at": acked_at,
            },
            strict=False,
        )


def acks_topic(gateway_id: str) -> str:
    return f"homevitals/v1/gateways/{gateway_id}/{ACKS_CHANNEL}"


def is_acks_topic_for(topic: str, gateway_id: str) -> bool:
    return is_valid_gateway_id(gateway_id) and topic == acks_topic(gateway_id)
