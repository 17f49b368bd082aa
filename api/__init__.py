"""homevitals API: FastAPI service for clinicians and care staff (docs/api.md)."""

__version__ = "0.1.0"
