"""The root of homevitals' typed error hierarchy.

Every service derives its errors from :class:`HomevitalsError`, and each error carries the
data that explains it (as bleak's ``exc.py`` and aiomqtt's exceptions do), so callers can
act on fields instead of parsing messages.
"""

from __future__ import annotations


class HomevitalsError(Exception):
    """Base class of every error homevitals raises on purpose."""


class ConfigurationError(HomevitalsError):
    """A setting is missing or unsafe. The message names the variable to set."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")
