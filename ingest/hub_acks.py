"""Which hub acknowledgements a committed batch of envelopes owes (pure; docs/contract.md).

After the transaction that stored a batch commits, every readings message in it gets one
:class:`~homevitals.contract.acks.HubAck` on its gateway's acks topic:

- a valid batch: ``committed`` with all its reading ids (stored now, or already stored: the
  ledger absorbed a re-send; a conflicting re-send is kept in ``reading_conflicts``);
- a dead-lettered readings message: ``dead_lettered`` with the reason, addressed to the
  gateway the *topic* names (the broker vouches for that one, not for the payload), and only
  when its ``batch_seq`` and reading ids can still be read from the JSON: an ack the gateway
  can't match to a batch would mean nothing to it.

Status messages and messages on other topics get none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from homevitals.contract.acks import ACK_SCHEMA_ID, AckOutcome, HubAck, acks_topic
from homevitals.contract.models import MAX_READINGS_PER_BATCH, gateway_id_from_topic
from ingest.envelope import Envelope
from ingest.validation import Rejection, ValidBatch


@dataclass(frozen=True, slots=True)
class OutgoingAck:
    topic: str
    payload: bytes
    gateway_id: str
    batch_seq: int
    outcome: AckOutcome


def acks_for(envelopes: Iterable[Envelope], *, acked_at: datetime) -> list[OutgoingAck]:
    """The acks to publish for ``envelopes``, which have just been committed."""
    acks: list[OutgoingAck] = []
    for envelope in envelopes:
        ack = _ack_for(envelope, acked_at)
        if ack is not None:
            topic = acks_topic(ack.gateway_id)
            acks.append(OutgoingAck(topic, ack.to_json_bytes(), ack.gateway_id, ack.batch_seq, ack.outcome))
    return acks


def _ack_for(envelope: Envelope, acked_at: datetime) -> HubAck | None:
    outcome = envelope.outcome
    if isinstance(outcome, ValidBatch):
        return committed_ack(outcome, acked_at)
    if not isinstance(outcome, Rejection):
        return None
    gateway_id = gateway_id_from_topic(envelope.topic, "readings")
    if gateway_id is None:
        return None
    identity = batch_identity(envelope.payload)
    if identity is None:
        return None
    batch_seq, reading_ids = identity
    return HubAck.build(
        gateway_id=gateway_id,
        batch_seq=batch_seq,
        outcome=AckOutcome.DEAD_LETTERED,
        reading_ids=reading_ids,
        acked_at=acked_at,
        reason=str(outcome.reason),
        detail=outcome.detail,
    )


def committed_ack(batch: ValidBatch, acked_at: datetime) -> HubAck:
    """The ``committed`` ack of a batch that passed validation, built without validating it
    again: its gateway id, batch_seq and reading ids are the validated ones. One ack per
    message puts this on the hot path (docs/benchmarks.md, issue 17). The same bytes as
    :meth:`HubAck.build` (tests/ingest/test_hub_acks.py)."""
    return HubAck.model_construct(
        None,
        schema_=ACK_SCHEMA_ID,
        gateway_id=batch.gateway_id,
        batch_seq=batch.batch_seq,
        outcome=AckOutcome.COMMITTED,
        reading_ids=[reading.reading_id for reading in batch.readings],
        reason=None,
        detail=None,
        acked_at=acked_at,
    )


def batch_identity(payload: bytes) -> tuple[int, list[UUID]] | None:
    """``batch_seq`` and the reading ids of a refused message, if its JSON still says them.

    Only an intact identity counts: an integer batch_seq and a list of readings that each
    carry a valid UUID reading_id. Anything less, and no ack is sent (the gateway re-sends,
    with back-off, and the dead letter shows why).
    """
    try:
        document = json.loads(payload)
        batch_seq = document["batch_seq"]
        readings = document["readings"]
        if isinstance(batch_seq, bool) or not isinstance(batch_seq, int) or not 0 <= batch_seq < 2**63:
            return None
        if not isinstance(readings, list) or not 0 < len(readings) <= MAX_READINGS_PER_BATCH:
            return None
        # UUID() refuses anything but text in a UUID's shape (TypeError, AttributeError, ValueError).
        return batch_seq, [UUID(item["reading_id"]) for item in readings]
    except (ValueError, RecursionError, TypeError, KeyError, AttributeError):
        return None
