"""The homevitals gateway: BLE health devices -> on-disk outbox -> MQTT (docs/gateway.md).

``gatt`` is the pure decoder library; the rest is the service that runs on the
Raspberry Pi (``homevitals gateway run``).
"""
