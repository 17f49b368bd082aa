"""The web app: Danish pages for home-care staff and citizens, served by the API's process.

Mounted under ``/app`` by :func:`web.app.mount_web`. Pages read and write only through the
API's own route functions, so roles, scopes and audit rows are the API's (docs/web.md).
"""
