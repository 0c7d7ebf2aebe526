"""Signed checkpoints: C2SP note format, Go interoperability vectors, tampering, rotation, key files."""

from __future__ import annotations

import base64
import hashlib
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bucket_governance.errors import GovernanceError
from bucket_governance.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointFormatError,
    CheckpointVerificationError,
    KeyFormatError,
    export_public_key,
    generate_signing_key,
    key_id,
    load_signing_key,
    parse_checkpoint_body,
    parse_signed_checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verify_note,
    verify_signed_checkpoint,
)

pytestmark = pytest.mark.unit

# Go reference vectors: golang.org/x/mod/sumdb/note note_test.go (TestNewVerifier, TestSign, TestOpen)
# https://github.com/golang/mod/blob/02c991387e35f9e4c0a9b7ce137717055f8d716d/sumdb/note/note_test.go
# Ed25519 is deterministic (RFC 8032), so signing the same text with the same seed must reproduce Go's
# note byte for byte: that is what makes our checkpoints readable by Go tooling.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_ENOCH_VERIFIER_KEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

ORIGIN = "bucket.example.org/ledger"
KEY_NAME = "bucket.example.org/ledger"
# The 8-leaf RFC 6962 test tree root (transparency-dev/merkle testonly/constants.go RootHashes()[8]).
ROOT_8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
SIGNED_AT = datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)
CHECKPOINT = Checkpoint(ORIGIN, 8, ROOT_8, SIGNED_AT)


def _go_private_key() -> Ed25519PrivateKey:
    """The Ed25519 seed inside Go's ``PRIVATE+KEY+<name>+<id>+base64(0x01 || seed)`` signer key."""
    material = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])
    assert material[0] == 1
    return Ed25519PrivateKey.from_private_bytes(material[1:])


@pytest.fixture
def private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def signed(private_key: Ed25519PrivateKey) -> str:
    return sign_checkpoint(CHECKPOINT, private_key, KEY_NAME)


# --- format ---------------------------------------------------------------------------------------


def test_body_is_a_c2sp_checkpoint_with_a_timestamp_extension_line() -> None:
    root_b64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="

    assert CHECKPOINT.body() == f"{ORIGIN}\n8\n{root_b64}\ntimestamp 2025-01-31T12:00:00Z\n"
    assert base64.b64decode(root_b64) == ROOT_8


def test_timestamp_is_normalised_to_utc_and_keeps_microseconds() -> None:
    paris = timezone(timedelta(hours=1))
    cp = Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest(), datetime(2025, 1, 31, 13, 0, 0, 250, tzinfo=paris))

    assert cp.timestamp == datetime(2025, 1, 31, 12, 0, 0, 250, tzinfo=UTC)
    assert cp.body().endswith("timestamp 2025-01-31T12:00:00.000250Z\n")
    assert parse_checkpoint_body(cp.body()) == cp


def test_signed_note_layout_and_key_id(private_key: Ed25519PrivateKey, signed: str) -> None:
    raw_public = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expected_id = hashlib.sha256(KEY_NAME.encode() + b"\n\x01" + raw_public).digest()[:4]

    body, blank_and_signature = signed[: len(CHECKPOINT.body())], signed[len(CHECKPOINT.body()) :]
    prefix, name, blob = blank_and_signature.split(" ")
    decoded = base64.b64decode(blob)

    assert body == CHECKPOINT.body()
    assert prefix == "\n\u2014"
    assert name == KEY_NAME
    assert blob.endswith("\n")
    assert len(decoded) == 4 + 64
    assert decoded[:4] == expected_id == key_id(KEY_NAME, private_key.public_key())
    private_key.public_key().verify(decoded[4:], CHECKPOINT.body().encode())


def test_parse_signed_checkpoint_exposes_the_signatures(signed: str) -> None:
    parsed = parse_signed_checkpoint(signed)

    assert parsed.checkpoint == CHECKPOINT
    assert parsed.note_text == CHECKPOINT.body()
    assert [s.key_name for s in parsed.signatures] == [KEY_NAME]
    assert len(parsed.signatures[0].signature) == 64


# --- Go interoperability ----------------------------------------------------------------------------


def test_key_id_and_verifier_key_match_go() -> None:
    key = _go_private_key()

    assert key_id("PeterNeumann", key.public_key()).hex() == "c74f20a3"
    assert export_public_key(key, "PeterNeumann") == GO_VERIFIER_KEY
    assert export_public_key(key.public_key(), "PeterNeumann") == GO_VERIFIER_KEY


def test_signature_matches_go_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, _go_private_key(), "PeterNeumann") == GO_TEXT + "\n" + GO_PETER_SIG


def test_go_signed_note_verifies_and_unknown_cosignature_is_ignored() -> None:
    note = GO_TEXT + "\n" + GO_PETER_SIG + GO_ENOCH_SIG

    assert verify_note(note, [GO_VERIFIER_KEY]) == GO_TEXT
    assert verify_note(note, [GO_ENOCH_VERIFIER_KEY]) == GO_TEXT
    with pytest.raises(CheckpointVerificationError):
        verify_note(note.replace("cryptography", "cryptographY"), [GO_VERIFIER_KEY])


def test_parse_verifier_key_reads_go_keys() -> None:
    key = parse_verifier_key(GO_VERIFIER_KEY)

    assert key.name == "PeterNeumann"
    assert key.key_id == bytes.fromhex("c74f20a3")
    assert key.public_key == _go_private_key().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
        # From Go's TestNewVerifier: wrong key length and unknown algorithm, each with a fitting key id.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_parse_verifier_key_rejects_malformed_keys(text: str) -> None:
    with pytest.raises(KeyFormatError):
        parse_verifier_key(text)


# --- verification and tampering -----------------------------------------------------------------------


def test_sign_and_verify_round_trip(private_key: Ed25519PrivateKey, signed: str) -> None:
    verifier = export_public_key(private_key, KEY_NAME)

    assert verify_signed_checkpoint(signed, [verifier]) == CHECKPOINT
    assert verify_signed_checkpoint(signed.encode("utf-8"), [verifier]) == CHECKPOINT
    assert verify_signed_checkpoint(signed, verifier) == CHECKPOINT  # one key passed bare


@pytest.mark.parametrize(
    "altered",
    [
        replace(CHECKPOINT, size=9),
        replace(CHECKPOINT, size=7),
        replace(CHECKPOINT, root_hash=bytes([ROOT_8[0] ^ 1]) + ROOT_8[1:]),
        replace(CHECKPOINT, origin="bucket.example.org/other-ledger"),
        replace(CHECKPOINT, timestamp=SIGNED_AT + timedelta(seconds=1)),
        replace(CHECKPOINT, timestamp=SIGNED_AT - timedelta(microseconds=1)),
    ],
    ids=["size+1", "size-1", "root-bit", "origin", "timestamp+1s", "timestamp-1us"],
)
def test_altered_body_is_rejected(private_key: Ed25519PrivateKey, signed: str, altered: Checkpoint) -> None:
    tampered = altered.body() + signed[len(CHECKPOINT.body()) :]

    assert parse_signed_checkpoint(tampered).checkpoint == altered  # still well-formed ...
    with pytest.raises(CheckpointVerificationError, match="altered"):  # ... but not what was signed
        verify_signed_checkpoint(tampered, [export_public_key(private_key, KEY_NAME)])


def test_flipped_signature_bit_is_rejected(private_key: Ed25519PrivateKey, signed: str) -> None:
    body, line = signed.split("\n\n")
    prefix, blob = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[40] ^= 0x10
    tampered = f"{body}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"

    with pytest.raises(CheckpointVerificationError, match="altered"):
        verify_signed_checkpoint(tampered, [export_public_key(private_key, KEY_NAME)])


def test_wrong_key_is_rejected(signed: str) -> None:
    stranger = export_public_key(Ed25519PrivateKey.generate(), KEY_NAME)

    with pytest.raises(CheckpointVerificationError, match="no signature by a trusted key"):
        verify_signed_checkpoint(signed, [stranger])
    with pytest.raises(CheckpointVerificationError):
        verify_signed_checkpoint(signed, [])


def test_forged_signature_under_a_trusted_key_id_is_rejected(private_key: Ed25519PrivateKey) -> None:
    """An attacker can copy the trusted name and key id, but not produce a signature that verifies."""
    attacker = Ed25519PrivateKey.generate()
    trusted_id = key_id(KEY_NAME, private_key.public_key())
    forged_blob = trusted_id + attacker.sign(CHECKPOINT.body().encode())
    forged = f"{CHECKPOINT.body()}\n\u2014 {KEY_NAME} {base64.b64encode(forged_blob).decode()}\n"

    with pytest.raises(CheckpointVerificationError, match="altered"):
        verify_signed_checkpoint(forged, [export_public_key(private_key, KEY_NAME)])


def test_a_failing_trusted_signature_rejects_the_note_even_beside_a_good_one(
    private_key: Ed25519PrivateKey, signed: str
) -> None:
    other_checkpoint = sign_checkpoint(replace(CHECKPOINT, size=9), private_key, KEY_NAME)
    wrong_line = other_checkpoint.split("\n\n")[1]

    with pytest.raises(CheckpointVerificationError):
        verify_signed_checkpoint(signed + wrong_line, [export_public_key(private_key, KEY_NAME)])


def test_witness_cosignature_by_an_unknown_key_is_ignored(private_key: Ed25519PrivateKey, signed: str) -> None:
    witness_line = sign_checkpoint(CHECKPOINT, Ed25519PrivateKey.generate(), "witness.example.com").split("\n\n")[1]

    assert verify_signed_checkpoint(signed + witness_line, [export_public_key(private_key, KEY_NAME)]) == CHECKPOINT


# --- key rotation -------------------------------------------------------------------------------------


def test_rotation_keeps_old_checkpoints_verifiable_with_the_old_key() -> None:
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    old_verifier, new_verifier = export_public_key(old_key, KEY_NAME), export_public_key(new_key, KEY_NAME)
    before = sign_checkpoint(CHECKPOINT, old_key, KEY_NAME)
    after = sign_checkpoint(replace(CHECKPOINT, size=9, timestamp=SIGNED_AT + timedelta(days=1)), new_key, KEY_NAME)

    assert parse_verifier_key(old_verifier).key_id != parse_verifier_key(new_verifier).key_id
    assert verify_signed_checkpoint(before, [old_verifier]) == CHECKPOINT
    assert verify_signed_checkpoint(before, [new_verifier, old_verifier]) == CHECKPOINT
    assert verify_signed_checkpoint(after, [new_verifier, old_verifier]).size == 9
    with pytest.raises(CheckpointVerificationError, match="old public key"):
        verify_signed_checkpoint(before, [new_verifier])
    with pytest.raises(CheckpointVerificationError):
        verify_signed_checkpoint(after, [old_verifier])


# --- key files ----------------------------------------------------------------------------------------


def test_generated_key_file_is_private_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "checkpoint-signing.key"

    verifier = generate_signing_key(path, KEY_NAME)
    loaded = load_signing_key(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert export_public_key(loaded, KEY_NAME) == verifier
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert verify_signed_checkpoint(sign_checkpoint(CHECKPOINT, loaded, KEY_NAME), [verifier]) == CHECKPOINT


def test_generate_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    generate_signing_key(path, KEY_NAME)
    original = path.read_bytes()

    with pytest.raises(FileExistsError, match="never overwritten"):
        generate_signing_key(path, KEY_NAME)
    assert path.read_bytes() == original


def test_generate_rejects_an_invalid_key_name(tmp_path: Path) -> None:
    with pytest.raises(KeyFormatError, match="key name"):
        generate_signing_key(tmp_path / "signing.key", "name with spaces")
    assert not (tmp_path / "signing.key").exists()


def test_load_rejects_a_file_that_is_not_an_ed25519_key(tmp_path: Path) -> None:
    garbage, ecdsa = tmp_path / "garbage.key", tmp_path / "ecdsa.key"
    garbage.write_text("not a key")
    ecdsa.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    with pytest.raises(KeyFormatError, match="not an unencrypted PEM private key"):
        load_signing_key(garbage)
    with pytest.raises(KeyFormatError, match="Ed25519"):
        load_signing_key(ecdsa)


# --- malformed text -----------------------------------------------------------------------------------

_BODY = CHECKPOINT.body()
_ROOT_LINE = _BODY.split("\n")[2]


def _good_signature_line() -> str:
    return sign_checkpoint(CHECKPOINT, _go_private_key(), "PeterNeumann").split("\n\n")[1]


def _with_body(body: str) -> str:
    return body + "\n" + _good_signature_line()


MALFORMED = {
    "empty": "",
    "body only": _BODY,
    "no signature lines": _BODY + "\n",
    "signature without final newline": _with_body(_BODY)[:-1],
    "hyphen instead of em dash": _with_body(_BODY).replace("\u2014 ", "- "),
    "no space after em dash": _with_body(_BODY).replace("\u2014 ", "\u2014"),
    "signature not base64": _BODY + "\n\u2014 PeterNeumann not*base64\n",
    "signature too short": _BODY + "\n\u2014 PeterNeumann AAAA\n",
    "signature with extra field": _with_body(_BODY)[:-1] + " extra\n",
    "key name with plus": _with_body(_BODY).replace("PeterNeumann", "Peter+Neumann"),
    "too many signatures": _BODY + "\n" + _good_signature_line() * 101,
    "trailing text": _with_body(_BODY) + "Unexpected line.\n",
    "carriage returns": _with_body(_BODY).replace("\n", "\r\n"),
    "control character": "\x01" + _with_body(_BODY),
    "tab in origin": _with_body(_BODY.replace(ORIGIN, ORIGIN + "\tx")),
    "no timestamp line": _with_body(_BODY.split("timestamp")[0]),
    "extra extension line": _with_body(_BODY + "extra\n"),
    "blank line in body": _with_body(_BODY.replace("\n8\n", "\n\n8\n")),
    "empty origin": _with_body(_BODY.replace(ORIGIN, "")),
    "size with leading zero": _with_body(_BODY.replace("\n8\n", "\n08\n")),
    "size with plus sign": _with_body(_BODY.replace("\n8\n", "\n+8\n")),
    "size with underscore": _with_body(_BODY.replace("\n8\n", "\n1_000\n")),
    "size in other digits": _with_body(_BODY.replace("\n8\n", "\n\uff18\n")),
    "negative size": _with_body(_BODY.replace("\n8\n", "\n-8\n")),
    "size above uint64": _with_body(_BODY.replace("\n8\n", f"\n{2**64}\n")),
    "root not base64": _with_body(_BODY.replace(_ROOT_LINE, "not base64!")),
    "root too short": _with_body(_BODY.replace(_ROOT_LINE, base64.b64encode(ROOT_8[:31]).decode())),
    "root without padding": _with_body(_BODY.replace(_ROOT_LINE, _ROOT_LINE.rstrip("="))),
    "root non-canonical base64": _with_body(_BODY.replace(_ROOT_LINE, _ROOT_LINE[:-2] + "h=")),
    "root url-safe base64": _with_body(_BODY.replace(_ROOT_LINE, _ROOT_LINE.replace("+", "-"))),
    "timestamp keyword": _with_body(_BODY.replace("timestamp ", "time ")),
    "timestamp without Z": _with_body(_BODY.replace("12:00:00Z", "12:00:00")),
    "timestamp with offset": _with_body(_BODY.replace("12:00:00Z", "12:00:00+00:00")),
    "timestamp zero fraction": _with_body(_BODY.replace("12:00:00Z", "12:00:00.000000Z")),
    "timestamp impossible date": _with_body(_BODY.replace("2025-01-31", "2025-02-30")),
    "timestamp lowercase": _with_body(_BODY.replace("T12:00:00Z", "t12:00:00z")),
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_text_is_a_format_error(text: str) -> None:
    with pytest.raises(CheckpointFormatError):
        parse_signed_checkpoint(text)
    with pytest.raises(CheckpointFormatError):
        verify_signed_checkpoint(text, [GO_VERIFIER_KEY])


def test_the_malformed_cases_differ_from_a_valid_note_only_in_their_defect() -> None:
    assert verify_signed_checkpoint(_with_body(_BODY), [GO_VERIFIER_KEY]) == CHECKPOINT


def test_invalid_utf8_is_a_format_error() -> None:
    with pytest.raises(CheckpointFormatError, match="UTF-8"):
        parse_signed_checkpoint(b"\xff" + _with_body(_BODY).encode())
    with pytest.raises(CheckpointFormatError, match="UTF-8"):
        parse_signed_checkpoint("\udc80" + _with_body(_BODY))


@pytest.mark.parametrize(
    "fields",
    [
        {"origin": ""},
        {"origin": "two\nlines"},
        {"size": -1},
        {"size": 2**64},
        {"size": True},
        {"root_hash": ROOT_8[:31]},
        {"root_hash": ROOT_8.hex()},
        {"timestamp": datetime(2025, 1, 31, 12, 0, 0)},  # naive: which zone?
    ],
)
def test_checkpoint_rejects_invalid_fields(fields: dict[str, Any]) -> None:
    with pytest.raises(CheckpointFormatError):
        replace(CHECKPOINT, **fields)


def test_errors_carry_stable_codes_and_are_value_errors() -> None:
    with pytest.raises(CheckpointFormatError) as malformed:
        parse_signed_checkpoint("")
    with pytest.raises(CheckpointVerificationError) as unverified:
        verify_signed_checkpoint(_with_body(_BODY), [])

    assert isinstance(malformed.value, ValueError)
    assert isinstance(malformed.value, CheckpointError)
    assert isinstance(unverified.value, GovernanceError)
    assert malformed.value.code == "checkpoint_malformed"
    assert unverified.value.code == "checkpoint_unverified"
    assert unverified.value.exit_code == 1


# --- documentation ------------------------------------------------------------------------------------


def test_documented_example_is_what_the_code_produces() -> None:
    """docs/checkpoint-format.md shows a checkpoint signed by a key whose seed it publishes."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "checkpoint-format.md").read_text(encoding="utf-8")
    seed = hashlib.sha256(b"bucket-governance documentation example key, never use for real").digest()
    example_key = Ed25519PrivateKey.from_private_bytes(seed)

    verifier = export_public_key(example_key, KEY_NAME)
    note = sign_checkpoint(CHECKPOINT, example_key, KEY_NAME)

    assert f"`{verifier}`" in doc
    assert f"```\n{note}```" in doc
    assert verify_signed_checkpoint(note, [verifier]) == CHECKPOINT
