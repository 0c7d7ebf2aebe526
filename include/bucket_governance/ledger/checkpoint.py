"""Ed25519-signed Merkle checkpoints in the C2SP signed-note format.

A checkpoint is a signed note (https://c2sp.org/signed-note) whose text is a tlog checkpoint
(https://c2sp.org/tlog-checkpoint) plus one extension line with the signing time::

    <origin>
    <tree size, decimal>
    <base64 root hash>
    timestamp <RFC 3339 UTC, e.g. 2025-01-31T12:00:00Z>

    — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>

Using the published format means Go tooling (golang.org/x/mod/sumdb/note, transparency-dev) can verify
our checkpoints and an auditor needs no code of ours; docs/checkpoint-format.md walks through it by hand.
Private keys are PKCS#8 PEM files (readable by ``openssl pkey``); the key *name* is configuration.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bucket_governance.errors import EXIT_DENIED_OR_FOUND, GovernanceError
from bucket_governance.ledger.merkle import HASH_SIZE

logger = logging.getLogger(__name__)

ED25519_SIGNATURE_TYPE = b"\x01"  # signed-note signature type byte for Ed25519
KEY_ID_SIZE = 4
ED25519_SIGNATURE_SIZE = 64
# The signed-note spec requires accepting at least 16 signatures; Go's implementation stops at 100.
MAX_SIGNATURES = 100
MAX_TREE_SIZE = 2**64 - 1  # tree sizes are uint64 in every other implementation
SIGNATURE_LINE_PREFIX = "\u2014 "  # em dash, space
TIMESTAMP_KEYWORD = "timestamp"

_SIZE_PATTERN = re.compile(r"0|[1-9][0-9]{0,19}")
_KEY_ID_PATTERN = re.compile(r"[0-9a-f]{8}")
_TIMESTAMP_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{6}))?Z")


class CheckpointError(GovernanceError, ValueError):
    """Base of checkpoint errors: catch this for "the checkpoint cannot be trusted", whatever the reason."""


class CheckpointFormatError(CheckpointError):
    """The text is not a well-formed signed checkpoint."""

    def __init__(self, message: str) -> None:
        super().__init__("checkpoint_malformed", message)


class CheckpointVerificationError(CheckpointError):
    """No signature by a trusted key verifies, or a trusted key's signature does not match the text."""

    exit_code = EXIT_DENIED_OR_FOUND

    def __init__(self, message: str) -> None:
        super().__init__("checkpoint_unverified", message)


class KeyFormatError(GovernanceError, ValueError):
    """A signing key file, verifier key string or key name is malformed."""

    def __init__(self, message: str) -> None:
        super().__init__("signing_key_invalid", message)


# --- checkpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the ledger's Merkle root at ``size`` entries, as of ``timestamp`` (UTC)."""

    origin: str
    size: int
    root_hash: bytes
    timestamp: datetime

    def __post_init__(self) -> None:
        problem = _checkpoint_problem(self)
        if problem:
            raise CheckpointFormatError(problem)
        # Normalise to UTC so the body (and equality after a round trip) does not depend on the zone.
        object.__setattr__(self, "timestamp", self.timestamp.astimezone(UTC))

    def body(self) -> str:
        """The note text that is signed; ends with a newline."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        stamp = format_timestamp(self.timestamp)
        return f"{self.origin}\n{self.size}\n{root}\n{TIMESTAMP_KEYWORD} {stamp}\n"


def _checkpoint_problem(cp: Checkpoint) -> str | None:
    if not isinstance(cp.origin, str) or not cp.origin or _has_control_characters(cp.origin):
        return f"the origin must be a non-empty line without control characters, got {cp.origin!r}"
    if not isinstance(cp.size, int) or isinstance(cp.size, bool) or not 0 <= cp.size <= MAX_TREE_SIZE:
        return f"the tree size must be an integer in 0..2^64-1, got {cp.size!r}"
    if not isinstance(cp.root_hash, bytes) or len(cp.root_hash) != HASH_SIZE:
        return f"the root hash must be {HASH_SIZE} bytes"
    if not isinstance(cp.timestamp, datetime) or cp.timestamp.utcoffset() is None:
        return "the timestamp must be a timezone-aware datetime"
    return None


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``; microseconds only when non-zero, so each instant has one form."""
    t = moment.astimezone(UTC)
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{text}.{t.microsecond:06d}Z" if t.microsecond else f"{text}Z"


def _parse_timestamp(text: str) -> datetime:
    match = _TIMESTAMP_PATTERN.fullmatch(text)
    if match is None:
        raise CheckpointFormatError(f"timestamp {text!r} is not RFC 3339 UTC like 2025-01-31T12:00:00Z")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    micro = int(match.group(7) or 0)
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError as exc:
        raise CheckpointFormatError(f"timestamp {text!r} is not a real date and time: {exc}") from exc


def parse_checkpoint_body(body: str) -> Checkpoint:
    """Parse the (unsigned) note text of a checkpoint; it must be exactly what ``Checkpoint.body()`` gives."""
    if not body.endswith("\n"):
        raise CheckpointFormatError("a checkpoint body must end with a newline")
    lines = body[:-1].split("\n")
    if len(lines) != 4:
        raise CheckpointFormatError(
            f"a checkpoint body has 4 lines (origin, tree size, root hash, timestamp), got {len(lines)}"
        )
    origin, size_text, root_text, stamp_line = lines
    if _SIZE_PATTERN.fullmatch(size_text) is None:
        raise CheckpointFormatError(f"tree size {size_text!r} is not a decimal number without leading zeros")
    root = _decode_base64(root_text)
    if root is None or len(root) != HASH_SIZE:
        raise CheckpointFormatError(f"root hash {root_text!r} is not the base64 of {HASH_SIZE} bytes")
    keyword, _, stamp = stamp_line.partition(" ")
    if keyword != TIMESTAMP_KEYWORD:
        raise CheckpointFormatError(f"the fourth line must be 'timestamp <RFC 3339>', got {stamp_line!r}")
    checkpoint = Checkpoint(origin, int(size_text), root, _parse_timestamp(stamp))
    if checkpoint.body() != body:
        # Only one spelling is accepted, so a signature can never cover two readings of the same text.
        raise CheckpointFormatError("the checkpoint body is not in canonical form (e.g. '.000000' seconds)")
    return checkpoint


# --- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifierKey:
    """A parsed ``<name>+<hex key id>+<base64(0x01 || public key)>`` string."""

    name: str
    key_id: bytes
    public_key: bytes  # raw 32-byte Ed25519 public key


def key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]`` (signed-note spec)."""
    _require_key_name(key_name)
    material = key_name.encode("utf-8") + b"\n" + ED25519_SIGNATURE_TYPE + _raw_public_key(public_key)
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def export_public_key(key: Ed25519PrivateKey | Ed25519PublicKey, key_name: str) -> str:
    """The verifier key string an auditor is given: ``<name>+<hex key id>+<base64(0x01 || pubkey)>``."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    encoded = base64.b64encode(ED25519_SIGNATURE_TYPE + _raw_public_key(public)).decode("ascii")
    return f"{key_name}+{key_id(key_name, public).hex()}+{encoded}"


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse and check a verifier key string; the key id must match the name and key it claims."""
    parts = text.strip().split("+", 2)  # the base64 part may itself contain '+'
    if len(parts) != 3:
        raise KeyFormatError("a verifier key looks like <name>+<8 hex digits>+<base64 key>")
    name, id_hex, encoded = parts
    _require_key_name(name)
    if _KEY_ID_PATTERN.fullmatch(id_hex) is None:
        raise KeyFormatError(f"verifier key id {id_hex!r} is not 8 lowercase hex digits")
    material = _decode_base64(encoded)
    if material is None or len(material) != 1 + 32 or material[:1] != ED25519_SIGNATURE_TYPE:
        raise KeyFormatError(f"verifier key {name!r} is not an Ed25519 key (base64 of 0x01 || 32 bytes)")
    try:
        public = Ed25519PublicKey.from_public_bytes(material[1:])
    except ValueError as exc:
        raise KeyFormatError(f"verifier key {name!r} does not hold a valid Ed25519 public key") from exc
    if key_id(name, public) != bytes.fromhex(id_hex):
        raise KeyFormatError(f"verifier key {name}+{id_hex}: the key id does not match the name and key")
    return VerifierKey(name, bytes.fromhex(id_hex), material[1:])


def generate_signing_key(path: Path, key_name: str) -> str:
    """Create a new Ed25519 key at ``path`` (mode 0600, never overwriting); return its verifier key."""
    _require_key_name(key_name)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new_private_file(Path(path), pem)
    return export_public_key(private, key_name)


def _write_new_private_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The mode is given to open() itself so the key is never readable by others, not even briefly;
    # O_EXCL because overwriting a signing key would orphan every checkpoint it signed.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise FileExistsError(
            f"{path} already exists; a signing key is never overwritten — rotate by generating a new file"
        ) from exc
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read a PKCS#8 PEM Ed25519 private key written by ``generate_signing_key``."""
    path = Path(path)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        logger.warning("signing key %s is readable by other users; run: chmod 600 %s", path, path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"{path} holds a {type(key).__name__}, but checkpoints are signed with Ed25519")
    return key


def _raw_public_key(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_name_problem(name: str) -> str | None:
    if not name or any(ch.isspace() or ch == "+" for ch in name) or _has_control_characters(name):
        return f"key name {name!r} must be non-empty, without spaces, '+' or control characters"
    return None


def _require_key_name(name: str) -> None:
    problem = _key_name_problem(name)
    if problem:
        raise KeyFormatError(problem)


# --- signed notes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    key_name: str
    key_id: bytes  # 4 bytes, big-endian uint32 in the spec
    signature: bytes  # the algorithm's signature (64 bytes for Ed25519)


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note_text: str  # the exact text the signatures cover
    signatures: tuple[NoteSignature, ...]


def sign_note(text: str, private_key: Ed25519PrivateKey, key_name: str) -> str:
    """Sign any note text (non-empty, ending in a newline) and return the signed note."""
    if not text.endswith("\n") or _has_control_characters(text.replace("\n", "")):
        raise CheckpointFormatError("note text must end with a newline and have no control characters")
    blob = key_id(key_name, private_key.public_key()) + private_key.sign(text.encode("utf-8"))
    return f"{text}\n{SIGNATURE_LINE_PREFIX}{key_name} {base64.b64encode(blob).decode('ascii')}\n"


def sign_checkpoint(cp: Checkpoint, private_key: Ed25519PrivateKey, key_name: str) -> str:
    """The full signed-note text of ``cp``, signed by ``private_key`` under ``key_name``."""
    return sign_note(cp.body(), private_key, key_name)


def parse_note(note: str | bytes) -> tuple[str, tuple[NoteSignature, ...]]:
    """Split a signed note into its text and signature lines, checking the syntax only."""
    text = _as_text(note)
    split = text.rfind("\n\n")  # the text ends at the *last* blank line (it may contain others)
    if split < 0:
        raise CheckpointFormatError("no blank line separates the note text from its signatures")
    body, block = text[: split + 1], text[split + 2 :]
    if not block:
        raise CheckpointFormatError("the note has no signature lines after the blank line")
    if not block.endswith("\n"):
        raise CheckpointFormatError("the last signature line must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointFormatError(f"the note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    return body, tuple(_parse_signature_line(line) for line in lines)


def parse_signed_checkpoint(text: str | bytes) -> SignedCheckpoint:
    """Strictly parse a signed checkpoint without verifying it (see ``verify_signed_checkpoint``)."""
    body, signatures = parse_note(text)
    return SignedCheckpoint(parse_checkpoint_body(body), body, signatures)


def verify_note(note: str | bytes, verifier_keys: Iterable[str]) -> str:
    """Return the note text once a trusted key's signature verifies; raise otherwise."""
    body, signatures = parse_note(note)
    _verify_signatures(body, signatures, _key_table(verifier_keys))
    return body


def verify_signed_checkpoint(text: str | bytes, verifier_keys: Iterable[str]) -> Checkpoint:
    """The checkpoint, if at least one signature by a key in ``verifier_keys`` verifies.

    Signatures by other keys (witnesses, keys rotated out) are ignored, as the spec requires; a
    signature by a trusted key that fails rejects the whole note. Pass every key that signed
    checkpoints you still need to check, old ones included. Raises ``CheckpointFormatError`` for
    malformed text, ``CheckpointVerificationError`` when it cannot be trusted, and ``KeyFormatError``
    for a malformed verifier key.
    """
    signed = parse_signed_checkpoint(text)
    _verify_signatures(signed.note_text, signed.signatures, _key_table(verifier_keys))
    return signed.checkpoint


def _as_text(note: str | bytes) -> str:
    try:
        text = note.decode("utf-8") if isinstance(note, bytes) else note
        text.encode("utf-8")  # a str may hold lone surrogates, which are not UTF-8
    except UnicodeError as exc:
        raise CheckpointFormatError("a signed note must be valid UTF-8") from exc
    if _has_control_characters(text.replace("\n", "")):
        raise CheckpointFormatError("a signed note must not contain control characters other than newline")
    return text


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_LINE_PREFIX):
        raise CheckpointFormatError(f"signature line {line!r} does not start with an em dash and a space")
    fields = line[len(SIGNATURE_LINE_PREFIX) :].split(" ")
    if len(fields) != 2 or _key_name_problem(fields[0]):
        raise CheckpointFormatError(f"signature line {line!r} is not '— <key name> <base64 signature>'")
    blob = _decode_base64(fields[1])
    if blob is None or len(blob) <= KEY_ID_SIZE:
        raise CheckpointFormatError(f"signature line {line!r} does not hold base64(key id || signature)")
    return NoteSignature(fields[0], blob[:KEY_ID_SIZE], blob[KEY_ID_SIZE:])


def _key_table(verifier_keys: Iterable[str]) -> dict[tuple[str, bytes], VerifierKey]:
    if isinstance(verifier_keys, str):
        verifier_keys = [verifier_keys]  # one key passed bare, not a list of its characters
    table: dict[tuple[str, bytes], VerifierKey] = {}
    for text in verifier_keys:
        key = parse_verifier_key(text)
        known = table.setdefault((key.name, key.key_id), key)
        if known.public_key != key.public_key:
            raise KeyFormatError(f"two different verifier keys are named {key.name}+{key.key_id.hex()}")
    return table


def _verify_signatures(
    body: str, signatures: Sequence[NoteSignature], table: dict[tuple[str, bytes], VerifierKey]
) -> None:
    message = body.encode("utf-8")
    verified = 0
    for signature in signatures:
        key = table.get((signature.key_name, signature.key_id))
        if key is None:
            continue  # not ours to judge: a witness cosignature or a key the caller does not trust
        if not _ed25519_signature_valid(key.public_key, signature.signature, message):
            raise CheckpointVerificationError(
                f"the signature by {key.name}+{key.key_id.hex()} does not match the text: "
                "the checkpoint was altered after signing"
            )
        verified += 1
    if verified == 0:
        signers = ", ".join(f"{s.key_name}+{s.key_id.hex()}" for s in signatures)
        raise CheckpointVerificationError(
            f"no signature by a trusted key (signed by: {signers}); supply the signer's verifier key — "
            "checkpoints signed before a key rotation need the old public key"
        )


def _ed25519_signature_valid(public_key: bytes, signature: bytes, message: bytes) -> bool:
    if len(signature) != ED25519_SIGNATURE_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _decode_base64(text: str) -> bytes | None:
    """Standard base64 (RFC 4648 section 4), rejecting every non-canonical spelling."""
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if base64.b64encode(decoded).decode("ascii") == text else None


def _has_control_characters(text: str) -> bool:
    return any(ord(ch) < 0x20 for ch in text)
