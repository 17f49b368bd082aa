"""A broker that refuses ingest's login: a typed error carrying the reason code, for either protocol."""

from __future__ import annotations

import pytest

from devstack.services.mosquitto import LocalMosquitto
from homevitals.errors import MqttConnectError
from homevitals.mqtt_endpoint import MqttEndpoint
from ingest.consumer import BrokerConfig, forget_session

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_forgetting_a_session_on_a_broker_that_refuses_the_login_raises(protocol):
    with LocalMosquitto(allow_anonymous=False) as broker:
        config = BrokerConfig(MqttEndpoint(host="127.0.0.1", port=broker.port, client_id="ingest-refused"),
                              protocol=protocol)  # type: ignore[arg-type]
        with pytest.raises(MqttConnectError) as refused:
            forget_session(config, timeout=5)
    assert refused.value.reason_code == 0x87  # "Not authorized" (3.1.1's CONNACK 5, as paho reports it)
    assert refused.value.reason == "Not authorized"
    assert refused.value.port == broker.port
