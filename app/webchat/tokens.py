"""Signed tokens: a web-chat session's, and (with another salt) officers'."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenSigner:
    def __init__(self, secret_key: str, salt: str, max_age_seconds: float | None = None) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=salt)
        self._max_age = int(max_age_seconds) if max_age_seconds is not None else None

    def sign(self, subject: str) -> str:
        return self._serializer.dumps(subject)

    def verify(self, token: str) -> str | None:
        """The subject, or ``None`` for a forged, malformed or expired token."""
        try:
            subject = self._serializer.loads(token, max_age=self._max_age)
        except (BadSignature, SignatureExpired):
            return None
        return subject if isinstance(subject, str) else None
