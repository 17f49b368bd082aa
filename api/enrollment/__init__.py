"""Gateway enrollment and revocation (docs/deployment.md, "Enrolling and revoking gateways").

``codes`` is pure (codes, hashes, sealing); ``service`` holds the database and broker steps
that the API's routes and the hub's ``homevitals gateway enroll`` / ``revoke`` share.
"""
