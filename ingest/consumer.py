"""The MQTT side: manual acks, hub commit acks, and the one thread that talks to the broker.

- One shared subscription ``$share/<group>/homevitals/v1/gateways/+/readings`` (QoS 1) so
  workers split the load, plus ``homevitals/v1/gateways/+/status`` (retained gateway status).
- A clean session by default: the gateways keep every reading until the hub ack after the
  commit and re-send what is not acknowledged, so a worker needs no broker-side session, and
  a dead worker's share is not stranded in a session nobody reads (docs/ingest.md "Sessions").
  ``persistent_session=True`` restores the old behaviour (MQTT 3.1.1 ``clean_session=False``,
  or MQTT 5 ``clean_start=False`` with a session expiry) for publishers that ignore hub acks.
- ``manual_ack=True``: writers hand committed messages to :meth:`MqttConsumer.ack`, and the
  network thread sends the PUBACKs and publishes the hub acks (QoS 1) to each gateway's
  ``.../acks`` topic.
- Only the network thread touches the paho client. It runs its own select() loop over paho's
  ``loop_read``/``loop_write``/``loop_misc`` (paho's "external event loop" API), so that it
  can stop *reading* while the buffer is full and still write acks and keepalives: Mosquitto
  2.0 does not reliably honour a client's Receive Maximum once its queue is unlimited, so flow
  control has to happen here (docs/mosquitto.md).
"""

from __future__ import annotations

import contextlib
import random
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from homevitals.contract.acks import AckOutcome
from homevitals.contract.models import READINGS_SUBSCRIPTION, STATUS_SUBSCRIPTION
from homevitals.errors import MqttConnectError, MqttPublishError, MqttSubscribeError
from homevitals.mqtt_endpoint import MqttEndpoint
from ingest.buffer import InflightBuffer
from ingest.envelope import Envelope
from ingest.hub_acks import OutgoingAck, acks_for
from ingest.metrics import IngestMetrics
from ingest.validation import Outcome, Rejection, RejectReason, ValidBatch, validate_message

log = structlog.get_logger("ingest.consumer")


class Backoff:
    """Exponential backoff with full jitter: 0.1 s, 0.2 s, ... up to ``maximum``."""

    def __init__(self, maximum: float, initial: float = 0.1) -> None:
        self.initial = initial
        self.maximum = maximum
        self._next = initial

    def next_delay(self) -> float:
        delay = random.uniform(self._next / 2, self._next)  # noqa: S311 - jitter, not crypto
        self._next = min(self.maximum, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.initial


def shared_subscription(group: str) -> str:
    return f"$share/{group}/{READINGS_SUBSCRIPTION}"


MqttProtocol = Literal["3.1.1", "5"]
SESSION_NEVER_EXPIRES = 0xFFFFFFFF
_BURST = 100  # packets read back to back before the next select() and keepalive check


@dataclass(frozen=True)
class BrokerConfig:
    """The broker endpoint, and which session (and shared-subscription group) to use there."""

    endpoint: MqttEndpoint
    share_group: str = "ingest"
    # 3.1.1 by default: paho parses MQTT v5 properties of every PUBLISH in pure Python, about
    # a quarter of its per-message cost (docs/benchmarks.md); the session persists either way.
    protocol: MqttProtocol = "3.1.1"
    session_expiry_s: int = SESSION_NEVER_EXPIRES  # MQTT v5 only, with persistent_session
    # False: clean session (3.1.1) / clean start with expiry 0 (5); see the module docstring.
    persistent_session: bool = False
    backoff_max_s: float = 10.0


def _new_client(broker: BrokerConfig, *, clean: bool) -> mqtt.Client:
    client_id = broker.endpoint.client_id
    if broker.protocol == "5":
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
    else:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=clean,
            manual_ack=True,
        )
    broker.endpoint.configure(client)
    return client


def _session_properties(packet: int, expiry_s: int) -> Properties:
    properties = Properties(packet)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = expiry_s
    return properties


def forget_session(broker: BrokerConfig, timeout: float = 10.0) -> None:
    """Make the broker drop this client id's session (and with it its shared-group membership).

    Raises :class:`MqttConnectError` when the broker refuses the connection (the session stays).
    """
    endpoint = broker.endpoint
    client = _new_client(broker, clean=True)
    refused: list[ReasonCode] = []

    def on_connect(
        _client: mqtt.Client, _userdata: Any, _flags: mqtt.ConnectFlags, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            refused.append(reason)

    client.on_connect = on_connect
    if broker.protocol == "5":
        client.connect(
            endpoint.host,
            endpoint.port,
            keepalive=endpoint.keepalive_s,
            clean_start=True,
            properties=_session_properties(PacketTypes.CONNECT, 0),
        )
    else:
        client.connect(endpoint.host, endpoint.port, keepalive=endpoint.keepalive_s)
    deadline = time.monotonic() + timeout
    while not client.is_connected() and not refused and time.monotonic() < deadline:
        client.loop(timeout=0.1)
    client.disconnect()
    client.loop(timeout=0.1)
    if refused:
        raise MqttConnectError(refused[0].value, str(refused[0]), host=endpoint.host, port=endpoint.port)


class MqttConsumer:
    """Receives, validates and buffers messages; acks them when the writer says so.

    ``retire=True`` resumes the session only to empty it: it unsubscribes at once (the broker
    stops routing new messages to it but still delivers what it queued for it), and
    :meth:`close` then makes the broker forget the session.
    """

    def __init__(
        self,
        broker: BrokerConfig,
        *,
        buffer: InflightBuffer,
        metrics: IngestMetrics,
        future_tolerance: timedelta = timedelta(minutes=5),
        max_payload_bytes: int = 1024 * 1024,
        retire: bool = False,
        hub_acks: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.broker = broker
        self.buffer = buffer
        self.metrics = metrics
        self.future_tolerance = future_tolerance
        self.max_payload_bytes = max_payload_bytes
        self.retire = retire
        self.hub_acks = hub_acks
        self.clock = clock
        self.topics = [shared_subscription(broker.share_group), STATUS_SUBSCRIPTION]
        self.last_message_monotonic = time.monotonic()
        self._backoff = Backoff(broker.backoff_max_s)
        self._generation = 0
        self._connected = False
        self._ready = threading.Event()
        self._stop_reading = threading.Event()
        self._closing = threading.Event()
        # Writers queue committed batches here and wake the network thread through the pipe.
        self._acks: deque[Sequence[Envelope]] = deque()
        self._hub_acks: deque[OutgoingAck] = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.settimeout(0)  # non-blocking
        self._wake_w.settimeout(0)
        self._thread: threading.Thread | None = None
        self._gauges_at = 0.0
        self.failure: BaseException | None = None
        self.connect_error: MqttConnectError | None = None  # the broker's last refusal, until a connect

        client = _new_client(broker, clean=not broker.persistent_session)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        client.on_message = self._on_message
        if broker.protocol == "5":
            client.connect_async(
                broker.endpoint.host,
                broker.endpoint.port,
                keepalive=broker.endpoint.keepalive_s,
                clean_start=not broker.persistent_session,
                properties=_session_properties(
                    PacketTypes.CONNECT, broker.session_expiry_s if broker.persistent_session else 0
                ),
            )
        else:
            endpoint = broker.endpoint
            client.connect_async(endpoint.host, endpoint.port, keepalive=endpoint.keepalive_s)
        self._client = client
        self._readings_counter = metrics.messages_received.labels(topic="readings")
        self._status_counter = metrics.messages_received.labels(topic="status")
        # Counted locally and added to the Prometheus counters twice a second: each inc() takes
        # a lock, which per message is measurable.
        self._counts = [0, 0, 0]  # readings messages, status messages, readings
        self._received = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest-mqtt", daemon=True)
        self._thread.start()

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait until subscribed (or, when retiring, unsubscribed)."""
        return self._ready.wait(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop_reading(self) -> None:
        """Read nothing more from the broker; keep sending acks (shutdown drain)."""
        self._stop_reading.set()
        self._wakeup()

    def close(self, flush_timeout: float = 2.0) -> None:
        """Send the remaining acks, then DISCONNECT (the session stays on the broker)."""
        self.stop_reading()
        deadline = time.monotonic() + flush_timeout
        while (
            (self._acks or self._hub_acks or self._client.want_write())
            and time.monotonic() < deadline
            and self.alive
        ):
            time.sleep(0.01)
        self._closing.set()
        self._wakeup()
        if self._thread is not None:
            self._thread.join(timeout=flush_timeout + 5)
        self._wake_r.close()
        self._wake_w.close()
        self.metrics.mqtt_connected.set(0)

    def _wakeup(self) -> None:
        # A full pipe means a wake-up is pending anyway; a closed one, that we are done.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"!")

    # -- acks --------------------------------------------------------------------------------
    def ack(self, envelopes: Sequence[Envelope]) -> None:
        """Acknowledge a committed batch (called by a writer thread; sent by the network thread).

        Besides the PUBACKs, each readings message's gateway gets its hub ack. Those are composed
        here, on the writer's thread, and published by the network thread, whatever the
        connection the message came over: a hub ack names a batch, not a packet id.
        """
        if self.hub_acks:
            self._hub_acks.extend(acks_for(envelopes, acked_at=self.clock()))
        self._acks.append(envelopes)
        self._wakeup()

    def _publish_hub_acks(self) -> None:
        """Network thread: publish the queued hub acks (QoS 1). Without a connection paho keeps
        them and sends them after the reconnect; one lost anyway costs a re-send, no reading."""
        published: dict[AckOutcome, int] = {}
        while self._hub_acks:
            ack = self._hub_acks.popleft()
            try:
                self._publish_hub_ack(ack)
            except MqttPublishError as error:
                log.warning("ingest.hub_ack_not_queued", gateway_id=ack.gateway_id, batch_seq=ack.batch_seq,
                            reason=error.reason, reason_code=error.reason_code)
                continue
            published[ack.outcome] = published.get(ack.outcome, 0) + 1
        for outcome, n in published.items():
            self.metrics.hub_acks.labels(outcome=str(outcome)).inc(n)

    def _publish_hub_ack(self, ack: OutgoingAck) -> None:
        info = self._client.publish(ack.topic, ack.payload, qos=1, retain=False)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise MqttPublishError(info.rc, mqtt.error_string(info.rc), topic=ack.topic)

    def _send_acks(self) -> None:
        """Network thread: PUBACK what was committed, if it came over the current connection.

        Messages from an earlier connection are skipped: their packet ids mean nothing now,
        and the broker re-sends them anyway (they are stored, so the copy is a duplicate).
        """
        self._publish_hub_acks()
        current = self._generation if self._connected else -1
        skipped = 0
        while self._acks:
            for envelope in self._acks.popleft():
                if envelope.mid == 0:
                    continue  # QoS 0: nothing to acknowledge
                if envelope.generation == current:
                    self._client.ack(envelope.mid, 1)
                else:
                    skipped += 1
        if skipped:
            self.metrics.acks_skipped.inc(skipped)

    # -- paho callbacks (network thread) ----------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode, _props: Any
    ) -> None:
        endpoint = self.broker.endpoint
        if reason.is_failure:
            self.connect_error = MqttConnectError(
                reason.value, str(reason), host=endpoint.host, port=endpoint.port
            )
            log.warning("mqtt.connect_refused", reason=str(reason), reason_code=reason.value,
                        host=endpoint.host, port=endpoint.port, client_id=endpoint.client_id,
                        error=str(self.connect_error))
            return
        self.connect_error = None
        self._generation += 1
        self._connected = True
        self._backoff.reset()
        self.metrics.mqtt_reconnects.inc()
        log.info(
            "mqtt.connected",
            host=endpoint.host,
            port=endpoint.port,
            client_id=endpoint.client_id,
            session_present=flags.session_present,
        )
        if self.retire:
            client.unsubscribe(self.topics)
        else:
            client.subscribe([(topic, 1) for topic in self.topics])

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: list[ReasonCode], _props: Any
    ) -> None:
        failed = [
            str(MqttSubscribeError(reason.value, str(reason), topic=topic))
            for reason, topic in zip(reasons, self.topics, strict=False)
            if reason.is_failure
        ]
        if failed:
            log.error("mqtt.subscribe_refused", reasons=failed)
            return
        self.metrics.mqtt_connected.set(1)
        self._ready.set()
        log.info("mqtt.subscribed", topics=self.topics)

    def _on_unsubscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, _reasons: list[ReasonCode], _props: Any
    ) -> None:
        self.metrics.mqtt_connected.set(1)
        self._ready.set()
        log.info("mqtt.unsubscribed_to_retire", topics=self.topics)

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _props: Any,
    ) -> None:
        self._generation += 1
        self._connected = False
        self.metrics.mqtt_connected.set(0)
        if not self._closing.is_set():
            log.warning("mqtt.disconnected", reason=str(reason))

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._received += 1
        received = time.monotonic()
        self.last_message_monotonic = received
        payload = bytes(message.payload)
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = repr(message._topic)  # paho offers no other way to an undecodable topic
        outcome = self._validate(topic, payload)
        counts = self._counts
        if isinstance(outcome, ValidBatch):
            counts[0] += 1
            counts[2] += len(outcome.readings)
        else:
            counts[1 if topic.endswith("/status") else 0] += 1
        self.buffer.put(
            Envelope(
                topic=topic,
                payload=payload,
                outcome=outcome,
                mid=message.mid if message.qos > 0 else 0,
                generation=self._generation,
                received_monotonic=received,
            )
        )

    def _validate(self, topic: str, payload: bytes) -> Outcome:
        try:
            return validate_message(
                topic,
                payload,
                now=self.clock(),
                future_tolerance=self.future_tolerance,
                max_payload_bytes=self.max_payload_bytes,
            )
        except Exception as error:  # a bug must not stall the stream: keep the message, loudly
            log.exception("ingest.validation_bug", topic=topic)
            return Rejection(RejectReason.INTERNAL_ERROR, f"{type(error).__name__}: {error}"[:2000], None)

    # -- the network thread ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as error:
            self.failure = error
            log.exception("mqtt.thread_failed")
            raise
        finally:
            self._flush_counts()
            self._disconnect_quietly()

    def _loop(self) -> None:
        client = self._client
        while not self._closing.is_set():
            sock = client.socket()
            if sock is None:
                self._send_acks()  # none can go out: counted as skipped, the broker re-sends
                if self._stop_reading.is_set():  # draining: unacked messages wait in the session
                    self._closing.wait(0.05)
                elif not self._connect_once():
                    self._closing.wait(self._backoff.next_delay())
                continue
            # Until CONNACK is read there is no session to pause; after it, a full buffer stops
            # the reading (and the broker keeps the rest queued).
            paused = self._stop_reading.is_set() or (self._connected and not self.buffer.has_room())
            self._update_gauges(paused=paused)
            rc = self._poll(sock, paused=paused)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS and not self._closing.is_set():
                log.warning("mqtt.connection_lost", rc=mqtt.error_string(rc))
                self._closing.wait(self._backoff.next_delay())

    def _poll(self, sock: Any, *, paused: bool) -> MQTTErrorCode:
        """One round: wait for the socket or a wake-up, then read, ack, write, keep alive."""
        client = self._client
        readable_sock = [] if paused else [sock]
        # TLS may hold decrypted bytes that select() cannot see.
        pending = not paused and hasattr(sock, "pending") and sock.pending() > 0
        try:
            readable, _, _ = select.select(
                [self._wake_r, *readable_sock],
                [sock] if client.want_write() else [],
                [],
                0 if pending else (0.05 if paused else 0.5),  # paused: look for room soon
            )
        except (OSError, ValueError):  # the socket was closed under us
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if self._wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                self._wake_r.recv(4096)
        self._send_acks()
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        if pending or sock in readable:
            rc = client.loop_read()
            if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                rc = self._read_burst()
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and client.want_write() and client.socket() is not None:
            rc = client.loop_write()
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and client.socket() is not None:
            rc = client.loop_misc()
        return rc

    def _read_burst(self) -> MQTTErrorCode:
        """Read further packets already waiting, without a select() and keepalive check each.

        paho's loop() reads one packet per select(); when messages queue up that costs about
        as much as the rest of paho's per-message work (docs/benchmarks.md). Stops at the
        first read that yields no message (nothing waiting, or not a PUBLISH) or a full buffer.
        """
        client = self._client
        for _ in range(_BURST):
            before = self._received
            rc = client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
            if self._received == before or not self.buffer.has_room() or self._stop_reading.is_set():
                break
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _update_gauges(self, *, paused: bool) -> None:
        now = time.monotonic()
        if paused or now - self._gauges_at > 0.5:  # not per message: metrics take a lock
            self._gauges_at = now
            self.metrics.reading_paused.set(1 if paused else 0)
            self.metrics.buffered_messages.set(self.buffer.outstanding)
            self._flush_counts()

    def _flush_counts(self) -> None:
        readings_messages, status_messages, readings = self._counts
        self._counts[:] = [0, 0, 0]
        if readings_messages:
            self._readings_counter.inc(readings_messages)
        if status_messages:
            self._status_counter.inc(status_messages)
        if readings:
            self.metrics.readings_received.inc(readings)

    def _connect_once(self) -> bool:
        try:
            self._client.reconnect()
        except OSError as error:
            endpoint = self.broker.endpoint
            log.warning("mqtt.connect_failed", host=endpoint.host, port=endpoint.port, error=str(error))
            return False
        return True

    def _disconnect_quietly(self) -> None:
        client = self._client
        if client.socket() is None:
            return
        if self.retire and self.broker.protocol == "5":
            client.disconnect(properties=_session_properties(PacketTypes.DISCONNECT, 0))
        else:
            client.disconnect()
        deadline = time.monotonic() + 1.0
        while client.want_write() and client.socket() is not None and time.monotonic() < deadline:
            if client.loop_write() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
        self._generation += 1
        self._connected = False
