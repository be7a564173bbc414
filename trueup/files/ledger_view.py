"""The install ledger of one component as a plan reads it: its digest at once, its document only when needed.

A warm plan of an unchanged tree never parses the ledger (the stat cache vouches for it); this view holds
the raw bytes until then, and parses through the packed ledger index when one matches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup.errors import TrueupError
from trueup.state import ledger as ledgers
from trueup.state import ledger_index


class LedgerView:
    def __init__(self, install_path: Path, memo_dir: Path | None) -> None:
        self.install_path = install_path
        self.memo_dir = memo_dir
        from trueup.state import resident

        # trueup watch keeps the digest of a ledger it hashed before (document() checks it when it reads the bytes).
        kept = resident.get("ledger-digest", ledgers.ledger_path(install_path))
        self.raw = ledgers.read_bytes(install_path) if kept is None else None
        self.exists = kept is not None or self.raw is not None
        self.digest = kept if kept is not None else ledgers.digest(self.raw)
        if kept is None and self.exists:
            resident.put("ledger-digest", ledgers.ledger_path(install_path), self.digest)
        # Names this ledger (and the schema it was validated against) for the stat cache and the ledger index.
        self.key = ledgers.trust_key(bytes.fromhex(self.digest)) if self.exists else bytes(32)
        self._document: dict[str, Any] | None = None

    @property
    def parsed(self) -> bool:
        return self._document is not None

    def release(self) -> None:
        """Drop the raw bytes (megabytes at scale) when the stat cache made parsing them unnecessary."""
        self.raw = None

    def document(self) -> dict[str, Any] | None:
        if self._document is None and self.exists:
            self._document = ledger_index.load(self.memo_dir, self.install_path, self.key)
            if self._document is not None:
                self.raw = None
                return self._document
            raw = self.raw if self.raw is not None else ledgers.read_bytes(self.install_path)
            self.raw = None  # the parsed document is all that is needed from now on
            if ledgers.digest(raw) != self.digest:
                raise TrueupError(f"{ledgers.ledger_path(self.install_path)}: changed while planning",
                                  hint="another trueup apply may be running; run trueup plan again")
            # A bytearray the parser empties once decoded: a large ledger is not held twice.
            buffer = bytearray(raw)
            del raw
            self._document = ledgers.parse(self.install_path, buffer, self.memo_dir)
            ledger_index.save(self.memo_dir, self.install_path, self._document, self.key)  # next time: no parse
        return self._document

    def files(self) -> dict[str, dict[str, Any]]:
        doc = self.document()
        return doc["files"] if doc is not None else {}
