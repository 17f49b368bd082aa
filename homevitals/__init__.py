"""homevitals core: the MQTT contract, settings base, database migrations and CLI.

The services (gateway, simulator, ingest, api, dashboards) depend on this package;
this package depends on none of them.
"""

__version__ = "0.1.0"
