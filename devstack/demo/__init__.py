"""The native demo: the whole hub and simulated homes on one machine, without Docker.

The core starts every service as a ``homevitals ...`` subprocess, so it imports none of them.
"""
