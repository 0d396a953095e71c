"""The keys of e-mail reminders, each derived from SECRET_KEY for its one purpose (as the
decision and preview tokens' keys are, domain/tokens.py), so that none can stand in for another:

- the address is stored Fernet-encrypted (AES-128-CBC and HMAC-SHA256, from `cryptography`);
- `email_hash`, a keyed hash of the normalised address, counts sign-ups per address without
  storing it readable: without the key nobody can test a guessed address against it;
- `signup_key`, a keyed hash of the decision token and the normalised address, makes a
  repeated sign-up the same row;
- the links in the e-mails carry an HMAC of the reminder id and what the link does.

Changing SECRET_KEY makes stored addresses unreadable (their reminders then fail, saying so)
and every link sent so far invalid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

# The actions a signed link may name.
CONFIRM, UNSUBSCRIBE, GIVE = "confirm", "unsubscribe", "give"
ACTIONS = (CONFIRM, UNSUBSCRIBE, GIVE)


class AddressUnreadable(ValueError):
    """The stored cipher was not made with this SECRET_KEY (or was altered)."""


def _derive(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"smallfavor:{purpose}".encode(), hashlib.sha256).digest()


class ReminderKeys:
    def __init__(self, secret: str) -> None:
        # Fernet wants 32 bytes, URL-safe base64: its signing and encryption halves.
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, "reminder-email")))
        self._hash_key = _derive(secret, "reminder-email-hash")
        self._signup_key = _derive(secret, "reminder-signup")
        self._link_key = _derive(secret, "reminder-link")

    def encrypt(self, address: str) -> str:
        # Fernet draws its IV from os.urandom: the randomness changes only the cipher text.
        return self._fernet.encrypt(address.encode()).decode()

    def decrypt(self, cipher: str) -> str:
        try:
            return self._fernet.decrypt(cipher.encode()).decode()
        except InvalidToken:
            raise AddressUnreadable("the stored address cannot be decrypted") from None

    def email_hash(self, normalised: str) -> str:
        return hmac.new(self._hash_key, normalised.encode(), hashlib.sha256).hexdigest()

    def signup_key(self, token: str, normalised: str) -> str:
        body = f"{token}\n{normalised}".encode()
        return hmac.new(self._signup_key, body, hashlib.sha256).hexdigest()

    def link_signature(self, reminder_id: str, action: str) -> str:
        mac = hmac.new(self._link_key, f"{reminder_id}.{action}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:16]).decode().rstrip("=")

    def link_valid(self, reminder_id: str, action: str, signature: str) -> bool:
        expected = self.link_signature(reminder_id, action)
        return hmac.compare_digest(signature.encode("utf-8", "replace"), expected.encode())
