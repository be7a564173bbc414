"""Provenance verdicts and how git's verification output maps onto them. Pure: text in, verdict out.

One verdict per installed component, the strongest statement trueup can prove offline about where its bytes
came from. ``mismatch`` (the bytes are not the signed tree) outranks any statement about the signature.
"""

from __future__ import annotations

import re

from attrs import frozen

VERIFIED_SIGNED = "verified-signed"  # a trusted key signed the ref, and the install's bytes are its tree
PINNED_UNSIGNED = "pinned-unsigned"  # a tag or full commit id, not signed (or no trust: configured to check it)
LOCAL_UNVERIFIED = "local-unverified"  # imported over differences, or a moving ref (a branch) nobody signed
MISMATCH = "mismatch"  # the install differs from the commit's tree beyond its accepted patches
SIGNATURE_INVALID = "signature-invalid"  # the signature does not verify, or the tag object is not the ref asked for
SIGNER_UNTRUSTED = "signer-untrusted"  # a good signature by a key allowed_signers (or the keyring) does not hold
KEY_EXPIRED = "key-expired"  # the key's valid-before (or OpenPGP expiry) has passed
KEY_REVOKED = "key-revoked"  # the key is in the revocation file (or revoked in the keyring)

VERDICTS = (VERIFIED_SIGNED, PINNED_UNSIGNED, LOCAL_UNVERIFIED, MISMATCH, SIGNATURE_INVALID, SIGNER_UNTRUSTED,
            KEY_EXPIRED, KEY_REVOKED)
# What no upgrade may install under ``require: signed`` (everything but a verified signature).
SIGNATURE_FAILURES = (SIGNATURE_INVALID, SIGNER_UNTRUSTED, KEY_EXPIRED, KEY_REVOKED)

UNSIGNED = "unsigned"  # a signature check's outcome before it becomes a verdict: nothing was signed
NO_TRUST = "no-trust"  # signed, but the component declares no trust: to check it against


@frozen
class Signature:
    """What one `git verify-tag` / `verify-commit` said: an outcome (a verdict, UNSIGNED or NO_TRUST) and who."""

    outcome: str
    principal: str | None = None
    fingerprint: str | None = None
    reason: str = ""


_SSH_GOOD = re.compile(r'Good "git" signature for (?P<who>.+?) with (?P<algo>\S+) key (?P<fpr>SHA256:\S+)')
_SSH_ANON = re.compile(r'Good "git" signature with (?P<algo>\S+) key (?P<fpr>SHA256:\S+)')


def read_ssh(rc: int, text: str) -> Signature:
    """git's stderr of an SSH-format verification (git 2.34+, OpenSSH 8.8+)."""
    good = _SSH_GOOD.search(text)
    if rc == 0 and good:
        return Signature(VERIFIED_SIGNED, good.group("who"), good.group("fpr"), f"{good.group('algo')} key")
    if "no signature found" in text:
        return Signature(UNSIGNED, reason="no signature")
    anon = _SSH_ANON.search(text)
    fpr = anon.group("fpr") if anon else None
    if "key has expired" in text or "not yet valid" in text:
        line = next(ln for ln in text.splitlines() if "key has expired" in ln or "not yet valid" in ln)
        return Signature(KEY_EXPIRED, fingerprint=fpr, reason=line.split(": ", 1)[-1].strip())
    if "No principal matched" in text:
        return Signature(SIGNER_UNTRUSTED, fingerprint=fpr, reason="no principal in allowed_signers holds this key")
    if "incorrect signature" in text or "Could not verify signature" in text or "verification failed" in text:
        return Signature(SIGNATURE_INVALID, fingerprint=fpr, reason="the signature does not verify")
    last = text.strip().splitlines()[-1] if text.strip() else f"exit {rc}"
    return Signature(SIGNATURE_INVALID, fingerprint=fpr, reason=last[:200])


def read_gpg(rc: int, status: str) -> Signature:
    """GnuPG's machine-readable status lines ([GNUPG:] …), which ``verify-tag --raw`` prints."""
    lines = {}
    for line in status.splitlines():
        if line.startswith("[GNUPG:] "):
            word, _, rest = line[9:].partition(" ")
            lines.setdefault(word, rest)
    fpr = lines.get("VALIDSIG", "").split(" ")[0] or None
    if "REVKEYSIG" in lines:
        return Signature(KEY_REVOKED, lines["REVKEYSIG"].partition(" ")[2] or None, fpr, "the key is revoked")
    if "EXPKEYSIG" in lines:
        return Signature(KEY_EXPIRED, lines["EXPKEYSIG"].partition(" ")[2] or None, fpr, "the key has expired")
    if "BADSIG" in lines:
        return Signature(SIGNATURE_INVALID, lines["BADSIG"].partition(" ")[2] or None, reason="bad signature")
    if "GOODSIG" in lines and rc == 0:
        return Signature(VERIFIED_SIGNED, lines["GOODSIG"].partition(" ")[2] or None, fpr, "OpenPGP key")
    if "ERRSIG" in lines or "NO_PUBKEY" in lines:
        return Signature(SIGNER_UNTRUSTED, reason="the signing key is not in gpg_keyring")
    if "no signature found" in status or not status.strip():
        return Signature(UNSIGNED, reason="no signature")
    return Signature(SIGNATURE_INVALID, reason=status.strip().splitlines()[-1][:200])


def verdict(*, imported_unverified: bool, pinned: bool, signature: Signature, mismatched: bool) -> str:
    """One component's verdict from what was proven: the bytes first, then how the ref was signed."""
    if mismatched:
        return MISMATCH
    if imported_unverified:
        return LOCAL_UNVERIFIED
    if signature.outcome in (VERIFIED_SIGNED, *SIGNATURE_FAILURES):
        return signature.outcome
    return PINNED_UNSIGNED if pinned else LOCAL_UNVERIFIED


def is_pinned(ref: str, is_tag: bool) -> bool:
    """A tag or a full commit id names one commit for good (unless the tag moves, which trueup reports)."""
    return is_tag or bool(re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", ref))
