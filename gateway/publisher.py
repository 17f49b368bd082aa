"""MQTT publisher: outbox batches out with QoS 1, deleted only on the hub's ack; retained status.

PUBACK means "the broker has it", not "the citizen's record has it": a broker crash before
its next autosave loses what it acknowledged. So the gateway subscribes to its own
``homevitals/v1/gateways/{gateway_id}/acks`` topic and keeps each batch in the outbox until
ingest's commit acknowledgement arrives there; a batch not acknowledged in time is sent again
with back-off (:mod:`gateway.ack_tracker`, docs/contract.md "Hub acknowledgements"). With
``HubAckPolicy(enabled=False)`` (a hub without acks) a batch leaves the outbox on PUBACK.

paho-mqtt's version-2 callback API, MQTT 5, a persistent session (``clean_start=False``
with a session expiry interval). paho runs its network thread (``loop_start``) and
reconnects by itself; its callbacks only hand events to the asyncio loop
(``call_soon_threadsafe``), so the outbox is touched from one thread.

Why MQTT 5: with MQTT 3.1.1 a broker acknowledges a publish its ACL denies and drops it, so
a PUBACK would delete readings nobody received. MQTT 5 PUBACKs carry a reason code; a
failure code (>= 0x80) keeps the batch and it is retried later.

Reconnecting: paho's own back-off doubles from 1 s to 30 s without jitter (a gateway came
back about 22 s after its broker, issue 15). :class:`_BackoffClient` replaces that one wait
with :class:`gateway.backoff.ReconnectBackoff`: full jitter, capped at 4 s by default.

Size: a batch stops below ``max_message_bytes`` (GATEWAY_MAX_MESSAGE_BYTES, the broker's
``message_size_limit``), which the broker would refuse and disconnect for.

Back-pressure: at most ``inflight_window`` batches await PUBACK, and at most the tracker's
adaptive window await the hub's ack, re-sends included (:mod:`gateway.ack_tracker`: it starts
small after a connect, grows while acks are quick, shrinks when they queue). New batches are
formed only while connected, so during an outage readings stay in the outbox (not in paho's
memory), and are sent in order of measurement once the broker is back.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, _ConnectionState
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import ValidationError

from gateway.ack_tracker import AckTracker, HubAckPolicy
from gateway.backends import utc_now
from gateway.backoff import ReconnectBackoff
from gateway.outbox import Outbox, StoredBatch
from homevitals.contract import readings_topic, status_topic
from homevitals.contract.acks import AckOutcome, HubAck, acks_topic
from homevitals.contract.models import MAX_MESSAGE_BYTES
from homevitals.errors import MqttConnectError, MqttPublishError, MqttSubscribeError
from homevitals.mqtt_endpoint import MqttEndpoint

log = structlog.get_logger("gateway.publisher")

OFFLINE_STATUS = b'{"state":"offline"}'
REFUSED_RETRY_MIN_S = 5.0
REFUSED_RETRY_MAX_S = 300.0
# A batch in flight at this many lost connections in a row, never PUBACKed: say why it may be.
DROPPED_WITH_BATCH_AFTER = 3


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """The broker endpoint, and the gateway's session and reconnect policy there."""

    endpoint: MqttEndpoint
    session_expiry_s: int = 7 * 24 * 3600
    reconnect_min_s: float = 0.5  # the back-off's base: attempt n waits up to min_s * 2**n ...
    reconnect_max_s: float = 4.0  # ... and never more than this (less at random: full jitter)


class _BackoffClient(mqtt.Client):
    """paho's client with our reconnect wait.

    paho waits in ``_reconnect_wait`` before every connection attempt after a failure or a
    lost connection (first connection and reconnects alike), doubling a delay without jitter.
    This is the one place it decides, so the override is the whole change; paho is pinned to
    2.x in pyproject.toml; tests/gateway/test_gateway_backoff.py holds the schedule and
    tests/chaos/test_chaos_reconnect.py measures the result on real processes.
    """

    backoff: ReconnectBackoff

    def _reconnect_wait(self) -> None:
        delay = self.backoff.next_delay()
        log.debug("mqtt_reconnect_wait", wait_s=round(delay, 3), attempt=self.backoff.attempts,
                 refused=self.backoff.refused)
        deadline = time.monotonic() + delay
        # As paho's own wait: give up early when the client is told to stop. paho looks every
        # 50 ms; a quarter of a second is as good for a stop and, with a thousand gateways in one
        # benchmark process, the difference between waiting and fighting for the GIL.
        while not self._thread_terminate and self._state not in _STOPPING and time.monotonic() < deadline:
            time.sleep(min(_STOP_CHECK_S, max(0.0, deadline - time.monotonic())))


_STOPPING = (_ConnectionState.MQTT_CS_DISCONNECTING, _ConnectionState.MQTT_CS_DISCONNECTED)
_STOP_CHECK_S = 0.25


@dataclass
class _Retry:
    attempts: int = 0
    not_before: float = 0.0


@dataclass
class PublisherStats:
    batches_sent: int = 0
    batches_acked: int = 0
    readings_acked: int = 0
    batches_refused: int = 0
    batches_resent: int = 0  # sent again: no hub ack in time
    batches_dead_lettered: int = 0  # the hub refused them; kept in the outbox's hub_rejected
    acks_ignored: int = 0  # malformed, or not matching a batch the outbox holds
    connects: int = 0
    last_error: str | None = None
    refused: dict[int, _Retry] = field(default_factory=dict)


class Publisher:
    """Sends outbox batches and the retained status. Run :meth:`run` as a task."""

    def __init__(
        self,
        config: MqttConfig,
        gateway_id: str,
        outbox: Outbox,
        *,
        batch_size: int,
        inflight_window: int,
        status_payload: Callable[[], dict[str, Any]],
        batch_linger_s: float = 0.0,
        hub_acks: HubAckPolicy | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.gateway_id = gateway_id
        self.outbox = outbox
        self.batch_size = batch_size
        self.inflight_window = inflight_window
        self.batch_linger_s = batch_linger_s
        self.max_message_bytes = max_message_bytes
        self.backoff = ReconnectBackoff(base_s=config.reconnect_min_s, cap_s=config.reconnect_max_s)
        self._now = now
        self._last_reading_at = 0.0
        self._status_payload = status_payload
        self._readings_topic = readings_topic(gateway_id)
        self._status_topic = status_topic(gateway_id)
        self._acks_topic = acks_topic(gateway_id)
        self.hub_acks = hub_acks or HubAckPolicy()
        self.tracker = AckTracker(self.hub_acks)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup = asyncio.Event()
        self._connected = asyncio.Event()
        self._idle = asyncio.Event()  # set when nothing is in flight
        self._stopping = False
        self._inflight: dict[int, int] = {}  # paho mid -> batch_seq
        self._inflight_bytes: dict[int, int] = {}  # paho mid -> message size
        self._dropped_with: dict[int, int] = {}  # batch_seq -> lost connections while in flight
        self._status_acks: dict[int, asyncio.Future[None]] = {}
        self.stats = PublisherStats()
        self.connect_error: MqttConnectError | None = None  # the broker's last refusal, until a connect
        self._client = self._make_client()

    # --- paho setup and callbacks (paho's thread) --------------------------------------

    def _make_client(self) -> mqtt.Client:
        endpoint = self.config.endpoint
        client = _BackoffClient(
            CallbackAPIVersion.VERSION2, client_id=endpoint.client_id, protocol=mqtt.MQTTv5
        )
        client.backoff = self.backoff
        endpoint.configure(client)
        client.will_set(self._status_topic, OFFLINE_STATUS, qos=1, retain=True)
        # Our window bounds the batches; the +2 leaves room for status messages.
        client.max_inflight_messages_set(self.inflight_window + 2)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback, *args)

    def _on_connect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: object,
    ) -> None:
        # Here, in paho's thread, so the very next wait already knows how this attempt went.
        if reason.is_failure:
            self.backoff.connection_refused()
        else:
            self.backoff.connected()
        self._post(self._handle_connect, reason.value, str(reason), bool(flags.session_present))

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: object, _mid: int, reasons: list[ReasonCode], _props: object
    ) -> None:
        refused = next((reason for reason in reasons if reason.is_failure), None)
        if refused is not None:
            self._post(self._handle_acks_refused, refused.value, str(refused))

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        self._post(self._handle_hub_ack, bytes(message.payload))

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: object, _flags: object, reason: ReasonCode, _properties: object
    ) -> None:
        self._post(self._handle_disconnect, str(reason))

    def _on_publish(
        self, _client: mqtt.Client, _userdata: object, mid: int, reason: ReasonCode, _properties: object
    ) -> None:
        self._post(self._handle_puback, mid, reason.value, str(reason))

    # --- event handlers (the asyncio loop) ---------------------------------------------

    def _handle_connect(self, code: int, reason: str, session_present: bool) -> None:
        endpoint = self.config.endpoint
        if code >= 0x80:
            self.connect_error = MqttConnectError(code, reason, host=endpoint.host, port=endpoint.port)
            self.stats.last_error = str(self.connect_error)
            log.error("mqtt_connect_refused", reason=reason, reason_code=code, host=endpoint.host,
                      port=endpoint.port, client_id=endpoint.client_id)
            return
        self.connect_error = None
        self.stats.connects += 1
        log.info("mqtt_connected", host=endpoint.host, port=endpoint.port, inflight=len(self._inflight),
                 session_present=session_present, awaiting_hub_ack=self.tracker.waiting)
        self._connected.set()
        if self.hub_acks.enabled:
            self._client.subscribe(self._acks_topic, qos=1)
            self.tracker.restart_window()
            if not session_present:
                # A new session: whatever the broker had queued (batches for ingest, acks for
                # us) may be gone with the old one, so waiting out the timeouts gains nothing.
                self.tracker.expire_all(time.monotonic())
        self.publish_status()
        self._wakeup.set()

    def _handle_disconnect(self, reason: str) -> None:
        if self._connected.is_set():
            level = log.info if self._stopping else log.warning
            level("mqtt_disconnected", reason=reason, outbox_depth=self.outbox.depth,
                  inflight=len(self._inflight))
            if not self._stopping:
                self._note_dropped_with_inflight(reason)
        self._connected.clear()

    def _note_dropped_with_inflight(self, reason: str) -> None:
        """Mosquitto closes the connection, without a PUBACK, on a message above its
        message_size_limit; paho sends it again after the reconnect, and so on. Say so."""
        for mid, batch_seq in self._inflight.items():
            drops = self._dropped_with.get(batch_seq, 0) + 1
            self._dropped_with[batch_seq] = drops
            if drops == DROPPED_WITH_BATCH_AFTER:
                size = self._inflight_bytes.get(mid, 0)
                self.stats.last_error = (
                    f"batch {batch_seq} ({size} bytes) was in flight at {drops} lost connections in a row"
                )
                log.error("batch_keeps_losing_the_connection", batch_seq=batch_seq, bytes=size, drops=drops,
                          reason=reason, max_message_bytes=self.max_message_bytes,
                          hint="a broker closes the connection on a message above its message_size_limit: "
                          "set GATEWAY_MAX_MESSAGE_BYTES to at most that limit (the batch stays in the "
                          "outbox); otherwise the link to the broker is unstable")

    def _handle_puback(self, mid: int, code: int, reason: str) -> None:
        status_ack = self._status_acks.pop(mid, None)
        if status_ack is not None:
            if not status_ack.done():
                status_ack.set_result(None)
            return
        batch_seq = self._inflight.pop(mid, None)
        self._inflight_bytes.pop(mid, None)
        if batch_seq is None:
            return
        self._dropped_with.pop(batch_seq, None)
        if code >= 0x80:
            retry = self.stats.refused.setdefault(batch_seq, _Retry())
            retry.attempts += 1
            delay = min(REFUSED_RETRY_MAX_S, REFUSED_RETRY_MIN_S * 2 ** (retry.attempts - 1))
            retry.not_before = time.monotonic() + delay
            self.stats.batches_refused += 1
            error = MqttPublishError(code, reason, topic=self._readings_topic)
            self.stats.last_error = f"batch {batch_seq}: {error}"
            log.error("batch_refused_by_broker", batch_seq=batch_seq, reason=reason, reason_code=code,
                      retry_in_s=delay,
                      hint="check the broker ACL: the gateway must be allowed to publish its readings topic")
        elif self.hub_acks.enabled:
            self.stats.refused.pop(batch_seq, None)
            if self.outbox.has_batch(batch_seq):  # not when its hub ack overtook this PUBACK
                deadline = self.tracker.sent(batch_seq, time.monotonic())
                log.debug("batch_awaiting_hub_ack", batch_seq=batch_seq,
                          attempt=self.tracker.attempts(batch_seq),
                          timeout_s=round(deadline - time.monotonic(), 2))
        else:
            deleted = self.outbox.acknowledge(batch_seq)
            self.stats.refused.pop(batch_seq, None)
            self.stats.batches_acked += 1
            self.stats.readings_acked += deleted
            log.info("batch_acknowledged", batch_seq=batch_seq, readings=deleted,
                     outbox_depth=self.outbox.depth)
        self._check_idle()
        self._wakeup.set()

    def _handle_acks_refused(self, code: int, reason: str) -> None:
        self.stats.last_error = str(MqttSubscribeError(code, reason, topic=self._acks_topic))
        log.error("hub_acks_subscription_refused", topic=self._acks_topic, reason=reason, reason_code=code,
                  hint="the broker ACL must let the gateway read its own acks topic; batches stay in the "
                  "outbox and are re-sent until acknowledged (or set GATEWAY_HUB_ACKS=false for a hub "
                  "without acks)")

    def _handle_hub_ack(self, payload: bytes) -> None:
        """The hub committed (or dead-lettered) a batch: only now does it leave the outbox."""
        try:
            ack = HubAck.model_validate_json(payload)
        except ValidationError as error:
            self.stats.acks_ignored += 1
            log.warning("hub_ack_malformed", error=str(error)[:500], payload_hex=payload[:4096].hex())
            return
        batch = self.outbox.load_batch(ack.batch_seq) if ack.gateway_id == self.gateway_id else None
        if batch is None or not ack.covers(batch.reading_ids):
            # A repeat for a batch already gone (a re-send was acked twice), or not one of ours.
            self.stats.acks_ignored += 1
            log.info("hub_ack_without_batch", batch_seq=ack.batch_seq, gateway_id=ack.gateway_id,
                     outcome=str(ack.outcome), known=batch is not None)
            return
        attempts = self.tracker.acknowledged(ack.batch_seq, time.monotonic())
        self.stats.refused.pop(ack.batch_seq, None)
        if ack.outcome is AckOutcome.COMMITTED:
            deleted = self.outbox.acknowledge(ack.batch_seq)
            self.stats.batches_acked += 1
            self.stats.readings_acked += deleted
            log.info("batch_acknowledged", batch_seq=ack.batch_seq, readings=deleted, sends=attempts,
                     outbox_depth=self.outbox.depth, window=self.tracker.window)
        else:
            kept = self.outbox.reject_batch(ack.batch_seq, ack.reason or "unknown", ack.detail)
            self.stats.batches_dead_lettered += 1
            self.stats.last_error = f"hub dead-lettered batch {ack.batch_seq}: {ack.reason}"
            log.error("batch_dead_lettered_by_hub", batch_seq=ack.batch_seq, readings=kept, reason=ack.reason,
                      detail=ack.detail, reading_ids=[str(r) for r in ack.reading_ids],
                      hint="kept in the outbox's hub_rejected table; the hub keeps it in dead_letters")
        self._check_idle()
        self._wakeup.set()

    def _check_idle(self) -> None:
        if not self._inflight and self.tracker.waiting == 0:
            self._idle.set()

    # --- public API -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def wake(self) -> None:
        """A reading was stored: look for work (after the linger, to batch a burst)."""
        self._last_reading_at = time.monotonic()
        self._wakeup.set()

    def start(self) -> None:
        """Start paho's network thread and connect (retrying in the background)."""
        self._loop = asyncio.get_running_loop()
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.config.session_expiry_s
        endpoint = self.config.endpoint
        self._client.connect_async(
            endpoint.host,
            endpoint.port,
            keepalive=endpoint.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()

    def publish_status(self, state: str = "online") -> asyncio.Future[None] | None:
        """Publish the retained status now; returns a future resolved on its PUBACK."""
        if not self._connected.is_set() or self._loop is None:
            return None
        payload = OFFLINE_STATUS if state == "offline" else json.dumps(self._status_payload()).encode()
        try:
            info = self._publish(self._status_topic, payload, retain=True)
        except MqttPublishError as error:
            log.warning("status_not_queued", reason=error.reason, reason_code=error.reason_code)
            return None
        future: asyncio.Future[None] = self._loop.create_future()
        self._status_acks[info.mid] = future
        return future

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the in-flight window full until ``stop`` is set."""
        while not stop.is_set():
            if self._connected.is_set():
                self._fill_window()
            self._wakeup.clear()
            wakeup = asyncio.ensure_future(self._wakeup.wait())
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({wakeup, stopped}, timeout=self._next_retry_in(),
                               return_when=asyncio.FIRST_COMPLETED)
            for task in (wakeup, stopped):
                task.cancel()

    def _next_retry_in(self) -> float | None:
        """When to look again without a wake-up: a refused batch's retry, or the linger's end."""
        moments = [retry.not_before for retry in self.stats.refused.values()]
        # Overdue batches are not among them: they wait for room in the window, which only an
        # ack or a PUBACK makes, and each of those wakes the loop.
        deadline = self.tracker.next_deadline(after=time.monotonic())
        if deadline is not None:
            moments.append(deadline)
        if self._lingering():
            moments.append(self._last_reading_at + self.batch_linger_s)
        if not moments:
            return None
        return max(0.02, min(moments) - time.monotonic())

    def _lingering(self) -> bool:
        # A burst (a backlog) is still arriving: wait a moment so it travels in fewer batches.
        return time.monotonic() - self._last_reading_at < self.batch_linger_s

    def _fill_window(self) -> None:
        busy = set(self._inflight.values())
        now = time.monotonic()
        # First, batches formed earlier and not acknowledged: after a restart, refused, or
        # whose hub ack is overdue.
        open_seqs = self.outbox.open_batch_seqs()
        self.tracker.forget_unknown(set(open_seqs))
        for batch_seq in open_seqs:
            if len(self._inflight) >= self.inflight_window or not self._room_to_send_again(now):
                return
            retry = self.stats.refused.get(batch_seq)
            if batch_seq in busy or (retry is not None and retry.not_before > now):
                continue
            if self.tracker.holds_back(batch_seq, now):
                continue
            batch = self.outbox.load_batch(batch_seq)
            if batch is None:
                continue
            resend = self.tracker.attempts(batch_seq) > 0
            if not self._send(batch):
                return
            if resend:
                self.tracker.timed_out(batch_seq)
                self.stats.batches_resent += 1
                log.warning("batch_resent_no_hub_ack", batch_seq=batch_seq,
                            after_sends=self.tracker.attempts(batch_seq), window=self.tracker.window)
        if self._lingering() and self.outbox.pending_count() < self.batch_size:
            return
        while self._has_room() and not self.stats.refused:
            batch = self.outbox.form_batch(
                self.batch_size, sent_at=self._now(), max_bytes=self.max_message_bytes
            )
            if batch is None or not self._send(batch):
                return

    def _has_room(self) -> bool:
        """Room for a new batch: in the PUBACK window, and (with hub acks) in the unacked window."""
        if len(self._inflight) >= self.inflight_window:
            return False
        if not self.hub_acks.enabled:
            return True
        unacked = len(set(self._inflight.values()) | set(self.outbox.open_batch_seqs()))
        return unacked < self.tracker.window

    def _room_to_send_again(self, now: float) -> bool:
        """Room for an open batch (overdue, refused, or formed before a restart): what is on
        its way (awaiting PUBACK, or the hub's ack in time) stays within the hub-ack window,
        so a fleet's timeouts don't all re-send at once (gateway/ack_tracker.py)."""
        if not self.hub_acks.enabled:
            return True
        return len(self._inflight) + self.tracker.held_back(now) < self.tracker.window

    def _send(self, batch: StoredBatch) -> bool:
        # Every reading was validated once, when built; the hub validates again on receipt and
        # dead-letters a batch that fails (a row stored by an older version, say), so nothing
        # here holds a batch back and blocks every later reading.
        body = batch.to_json_bytes(self.gateway_id)
        try:
            info = self._publish(self._readings_topic, body, retain=False)
        except MqttPublishError as error:
            log.warning("publish_not_queued", batch_seq=batch.batch_seq, reason=error.reason,
                        reason_code=error.reason_code)
            return False
        # paho keeps a queued message and sends it after a reconnect: it is in flight either way.
        self._inflight[info.mid] = batch.batch_seq
        self._inflight_bytes[info.mid] = len(body)
        self.stats.batches_sent += 1
        log.info("batch_published", batch_seq=batch.batch_seq, readings=len(batch.reading_ids),
                 bytes=len(body), inflight=len(self._inflight))
        return True

    def _publish(self, topic: str, payload: bytes, *, retain: bool) -> mqtt.MQTTMessageInfo:
        """QoS 1 publish; raises :class:`MqttPublishError` when paho does not queue it."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise MqttPublishError(info.rc, mqtt.error_string(info.rc), topic=topic)
        return info

    async def drain(self, grace_s: float) -> bool:
        """Wait up to ``grace_s`` for the batches in flight to be acknowledged (by the hub, with acks)."""
        try:
            async with asyncio.timeout(grace_s):
                while self._inflight or self.tracker.waiting:
                    self._idle.clear()
                    await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self, grace_s: float = 5.0) -> None:
        """Wait for PUBACKs (bounded), mark the gateway offline, disconnect."""
        self._stopping = True
        if self._connected.is_set():
            await self.drain(grace_s)
            offline = self.publish_status("offline")
            if offline is not None:
                try:
                    await asyncio.wait_for(offline, timeout=2.0)
                except TimeoutError:
                    log.warning("offline_status_not_acknowledged")
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        # paho closes the socket pair loop_start made only in Client.__del__, which a reference
        # cycle (our callbacks) delays to some garbage collection: close it now.
        self._client._reset_sockets()
        self._loop = None
