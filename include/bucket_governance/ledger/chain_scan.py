"""The fast path of chain verification: one tight loop over ledger rows as plain tuples.

For each row it checks what ``verify.verify_chain`` requires — the next sequence number, a link to the
stored hash before it, stored fields that hash to the stored hash — with the canonical bytes spliced from
the stored columns (as ``stored.py`` does) by joining the constant pieces of :data:`TEMPLATE` around the
JSON texts of the values, and the previous hash kept as raw bytes. Measured in ``bench/verify_path.py``.

It is an optimistic filter, never a judge: a row passes only if the spliced bytes hash to the stored
``entry_hash``, and by collision resistance those bytes are then exactly the bytes that were chained, so
the exact check would pass too. Anything else — a gap, a broken link, a mismatch, a value of the wrong
type (``encode_basestring`` and ``int.__repr__`` raise on anything but ``str`` and ``int``) — goes to the
caller's exact check, which names and classifies the problem as before. A non-string ``reasons`` or
``details`` makes ``join`` raise too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import Connection, select

from bucket_governance.db.tables import ledger_entries
from bucket_governance.ledger.canonical import FORMAT_VERSION

_L = ledger_entries.c
# The order the tuples are unpacked in below.
CHAIN_COLUMNS = (
    _L.seq,
    _L.prev_hash,
    _L.entry_hash,
    _L.recorded_at_us,
    _L.operation,
    _L.decision,
    _L.reasons,
    _L.actor_id,
    _L.integration_id,
    _L.product_id,
    _L.artifact_id,
    _L.version,
    _L.content_hash,
    _L.policy_fingerprint,
    _L.details,
)

# The keys in sorted order, as ``LedgerEntry.canonical_parts`` writes them (docs/ledger-format.md).
TEMPLATE = (
    '{"actor_id":%s,"artifact_id":%s,"content_hash":%s,"decision":%s,"details":%s,"integration_id":%s,'
    '"operation":%s,"policy_fingerprint":%s,"product_id":%s,"reasons":%s,"recorded_at_us":%s,"seq":%s,'
    f'"v":{FORMAT_VERSION},"version":%s}}'
)

ExactCheck = Callable[[Any, int, str], None]
_PIECES = TEMPLATE.split("%s")


class _Quoted(dict[Any, str]):
    """JSON text of low-cardinality string columns (operation, actor, product, …), computed once a scan.

    Only ``None`` and values ``encode_basestring`` accepted (strings) are ever stored, so a lookup can
    never turn an integer or a float into a cached string.
    """

    def __init__(self) -> None:
        super().__init__({None: "null"})

    def __missing__(self, key: Any) -> str:
        if len(self) > 100_000:  # high-cardinality data after all: keep memory bounded
            self.clear()
            self[None] = "null"
        text = self[key] = encode_basestring(key)
        return text


def iter_chain_rows(conn: Connection, after_seq: int = 0, batch: int = 5000) -> Iterator[Sequence[Any]]:
    """Batches of ``CHAIN_COLUMNS`` rows in sequence order (keyset-paginated: constant memory)."""
    query = select(*CHAIN_COLUMNS).order_by(_L.seq).limit(batch)
    while True:
        rows = conn.execute(query.where(_L.seq > after_seq)).all()
        if not rows:
            return
        yield rows
        after_seq = rows[-1][0]


def scan_chain(rows: Iterable[Any], last_seq: int, last_hash: str, exact_check: ExactCheck) -> tuple[int, str]:
    """Check ``rows`` (``CHAIN_COLUMNS`` order) after (``last_seq``, ``last_hash``); return the new anchor.

    ``exact_check(row, prev_seq, prev_hash)`` is called for every row the fast path cannot clear; the walk
    goes on from that row's stored hash, as a row-by-row check does.
    """
    sha256, join, quoted, quote, int_text = (
        hashlib.sha256,
        "".join,
        _Quoted().__getitem__,
        encode_basestring,
        int.__repr__,
    )
    p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13 = _PIECES
    prev_digest = _digest_or_none(last_hash)
    for row in rows:
        seq, prev_hash, entry_hash, at_us, op, dec, reasons, actor, integ, product, art, ver, content, fp, det = row
        try:
            text = join((
                p0, quoted(actor), p1, "null" if art is None else quote(art), p2,
                "null" if content is None else quote(content), p3, quoted(dec), p4, det, p5, quoted(integ), p6,
                quoted(op), p7, quoted(fp), p8, quoted(product), p9, reasons, p10, int_text(at_us), p11,
                int_text(seq), p12, "null" if ver is None else int_text(ver), p13,
            ))  # fmt: skip
            digest = sha256(prev_digest + text.encode()).digest()  # type: ignore[operator]
            clean = seq == last_seq + 1 and prev_hash == last_hash and digest.hex() == entry_hash
        except (TypeError, ValueError):  # a non-canonical value or anchor (UnicodeEncodeError is a ValueError)
            clean = False
        if clean:
            prev_digest = digest
        else:
            exact_check(row, last_seq, last_hash)
            prev_digest = _digest_or_none(entry_hash)
        last_seq, last_hash = seq, entry_hash
    return last_seq, last_hash


def _digest_or_none(hex_hash: Any) -> bytes | None:
    """The raw hash the next row chains onto; ``None`` (the next row goes to the exact check) if not hex."""
    try:
        return bytes.fromhex(hex_hash)
    except (TypeError, ValueError):
        return None
