"""Errors of the local service launchers."""

from __future__ import annotations

from homevitals.errors import HomevitalsError


class ServiceStartError(HomevitalsError):
    """A local PostgreSQL or Mosquitto did not start. ``log`` holds its last output."""

    def __init__(self, service: str, problem: str, log: str = "") -> None:
        self.service = service
        self.problem = problem
        self.log = log
        super().__init__(f"{service} did not start: {problem}\n{log[-2000:]}")
