"""RFC 9162 Merkle tree maths: hashing, roots, proof paths and their verification.

Written here rather than taken from a library because it is about a hundred lines,
exactly specified by RFC 9162 section 2.1, and we need two things libraries rarely
offer together: proofs assembled from *stored* subtree hashes (so a proof at a
million entries is a couple of indexed reads), and verification that follows the
RFC's own step lists, which the transparency-dev test vectors check.

The map:

* ``leaf_hash(entry) = SHA-256(0x00 || entry)``, ``node_hash(l, r) = SHA-256(0x01 || l || r)``,
  the empty tree's root is ``SHA-256("")``.
* A tree of ``n`` leaves splits at ``k``, the largest power of two below ``n``
  (RFC 9162 2.1.1). Every subtree the RFC ever names is a half-open leaf range
  ``[start, end)``; it is either *complete* (a power-of-two size, aligned) and
  then has a stored hash, keyed by ``(level, position)``, or it is the ragged
  right edge of the tree, whose hash folds the complete pieces it decomposes
  into (:func:`complete_pieces`), right to left.
* Proof generation (2.1.3.1 PATH, 2.1.4.1 PROOF/SUBPROOF) is written as a list
  of ranges (:func:`inclusion_ranges`, :func:`consistency_ranges`); the caller
  fetches the complete pieces' hashes from wherever it keeps them and
  :func:`range_hash` folds them.
* Verification (2.1.3.2, 2.1.4.2) is the RFC's step list, plus the two edge
  rules the vectors encode: hashes are exactly 32 bytes, and a consistency proof
  from an empty tree is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]  # (level, position): leaves [position * 2**level, (position+1) * 2**level)
Range = tuple[int, int]  # half-open leaf range [start, end)


class ProofError(ValueError):
    """A proof, root or size that does not verify."""


def leaf_hash(entry: bytes) -> bytes:
    """The RFC 9162 hash of one leaf.

    Example:
        >>> leaf_hash(b"").hex()[:16]
        '6e340b9cffb37a98'
    """
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """``k`` of RFC 9162: the largest power of two strictly less than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def complete_pieces(start: int, end: int) -> list[NodeId]:
    """The aligned complete subtrees that tile ``[start, end)``, left to right.

    Example:
        >>> complete_pieces(0, 7)
        [(2, 0), (1, 2), (0, 6)]
    """
    pieces: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        pieces.append((level, start >> level))
        start += 1 << level
    return pieces


def fold_pieces(hashes: Sequence[bytes]) -> bytes:
    """Hash of a range from its complete pieces' hashes (left to right), folded right to left."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def range_hash(span: Range, lookup: Mapping[NodeId, bytes]) -> bytes:
    """The RFC subtree hash of ``span`` from stored complete-subtree hashes."""
    return fold_pieces([lookup[piece] for piece in complete_pieces(*span)])


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes form PATH(index, D[size]), leaf end first (RFC 9162 2.1.3.1).

    Example:
        >>> inclusion_ranges(0, 3)
        [(1, 2), (2, 3)]
    """
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + largest_power_of_two_below(end - start)
        if index < mid:
            path.append((mid, end))
            end = mid
        else:
            path.append((start, mid))
            start = mid
    path.reverse()
    return path


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The subtrees whose hashes form PROOF(first, D[second]) (RFC 9162 2.1.4.1).

    Example:
        >>> consistency_ranges(3, 7)
        [(2, 3), (3, 4), (0, 2), (4, 7)]
    """
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    proof: list[Range] = []
    start, end, whole = 0, second, True
    while first != end:
        mid = start + largest_power_of_two_below(end - start)
        if first <= mid:
            proof.append((mid, end))
            end = mid
        else:
            proof.append((start, mid))
            start, whole = mid, False
    if not whole:
        proof.append((start, end))
    proof.reverse()
    return proof


def needed_nodes(ranges: Iterable[Range]) -> set[NodeId]:
    """Every stored complete subtree the ranges need."""
    return {piece for span in ranges for piece in complete_pieces(*span)}


def build_proof(ranges: Sequence[Range], fetch: Callable[[set[NodeId]], Mapping[NodeId, bytes]]
                ) -> list[bytes]:
    """Turn proof ranges into hashes, fetching all stored pieces in one call."""
    lookup = fetch(needed_nodes(ranges))
    return [range_hash(span, lookup) for span in ranges]


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2 steps 1-5, returning the computed root (raises on failure)."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "proof hash")
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root: bytes) -> None:
    """Check that ``leaf`` is at ``index`` in the tree of ``size`` with ``root``.

    Raises:
        ProofError: the proof does not verify.

    Example:
        >>> verify_inclusion(0, 1, leaf_hash(b""), [], leaf_hash(b""))
    """
    _check_hash(root, "root")
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Check that the tree of ``second`` leaves extends the tree of ``first`` (RFC 9162 2.1.4.2).

    Raises:
        ProofError: the proof does not verify.

    Example:
        >>> r = leaf_hash(b"")
        >>> verify_consistency(1, 1, r, r, [])
    """
    if first > second:
        raise ProofError(f"size {first} is larger than size {second}")
    if first == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if first == second:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if first_root != second_root:
            raise ProofError("equal sizes but different roots")
        return
    _check_hash(first_root, "first root")
    _check_hash(second_root, "second root")
    for p in proof:
        _check_hash(p, "proof hash")
    if not proof:  # step 1
        raise ProofError("empty consistency proof")
    path = list(proof)
    if first & (first - 1) == 0:  # step 2: first is an exact power of two
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != first_root or sr != second_root:  # step 7
        raise ProofError("consistency proof does not lead to both roots")


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """The root of a tree over ``leaf_hashes`` (streams through a :class:`CompactRange`)."""
    compact = CompactRange()
    for leaf in leaf_hashes:
        compact.append(leaf)
    return compact.root()


class CompactRange:
    """The right edge of a growing tree: one hash per set bit of its size.

    Appending a leaf merges equal-sized neighbours (like binary addition) and
    reports each complete subtree it closes, so callers can store them; the
    root at any size folds the edge right to left.

    Example:
        >>> c = CompactRange()
        >>> [c.append(leaf_hash(bytes([i]))) for i in range(2)][1][0][:2]
        (1, 0)
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ProofError(f"a compact range of size {size} needs {size.bit_count()} hashes")
        self.size = size
        self.hashes = list(hashes)  # largest subtree first

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; returns the ``(level, position, hash)`` of subtrees it completes."""
        closed: list[tuple[int, int, bytes]] = []
        index, level, value = self.size, 0, leaf
        while index & 1:
            value = node_hash(self.hashes.pop(), value)
            level += 1
            index >>= 1
            closed.append((level, index, value))
        self.hashes.append(value)
        self.size += 1
        return closed

    def root(self) -> bytes:
        """The root of the tree so far."""
        return fold_pieces(self.hashes) if self.hashes else EMPTY_ROOT

    def pack(self) -> bytes:
        """The edge hashes as one byte string, for storage."""
        return b"".join(self.hashes)

    @classmethod
    def unpack(cls, size: int, packed: bytes) -> CompactRange:
        """Rebuild from :meth:`pack`'s bytes."""
        return cls(size, [packed[i:i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)])
