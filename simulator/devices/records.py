"""The memory of a virtual device: stored records, oldest first."""

from __future__ import annotations

from collections.abc import Iterator

from simulator.model import StoredRecord

_SEQ_MODULO = 0x10000  # sequence numbers are uint16 on the air (GLS 3.106.1)


class RecordStore:
    """Records a device keeps until they are confirmed (or deleted, for a glucose meter).

    Like real devices, the memory is bounded: when it is full the oldest record is overwritten.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._records: list[StoredRecord] = []
        self._next_seq = 1
        self.overwritten = 0

    def next_seq(self) -> int:
        """Reserve the sequence number of the next record."""
        seq = self._next_seq
        self._next_seq = (self._next_seq + 1) % _SEQ_MODULO
        return seq

    def add(self, record: StoredRecord) -> None:
        self._records.append(record)
        while len(self._records) > self.capacity:
            self._records.pop(0)
            self.overwritten += 1

    def oldest(self) -> StoredRecord | None:
        return self._records[0] if self._records else None

    def forget(self, seq: int) -> bool:
        """Drop the record with this sequence number; False if it was already gone."""
        for index, record in enumerate(self._records):
            if record.seq == seq:
                del self._records[index]
                return True
        return False

    def clear(self) -> int:
        count = len(self._records)
        self._records.clear()
        return count

    def snapshot(self) -> tuple[StoredRecord, ...]:
        return tuple(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[StoredRecord]:
        return iter(tuple(self._records))
