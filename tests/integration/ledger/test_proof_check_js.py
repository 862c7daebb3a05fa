"""The in-browser proof check (ledger/static/proof-check.js), run by Node's WebCrypto:
a real entry's proof from a real ledger is accepted; a tampered one is rejected; every
RFC 9162 vector in shared/vectors/merkle gets its expected verdict."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from caldicott.ledger import explorer
from caldicott.settings import Settings
from tests.integration.ledger.test_explorer import AUDITOR, _fill
from tests.unit.ledger.test_vectors import VECTORS

SCRIPT = Path(__file__).parents[3] / "src" / "caldicott" / "ledger" / "static" / "proof-check.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

CHECK_PROOFS = """
const ProofCheck = require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
Promise.all(cases.map(c => ProofCheck.checkEntry(c))).then(r => console.log(JSON.stringify(r)));
"""
CHECK_VECTORS = """
const ProofCheck = require(process.argv[1]);
const b = s => Uint8Array.from(Buffer.from(s || "", "base64"));
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
(async () => {
  const verdicts = [];
  for (const [kind, c] of cases) {
    try {
      if (kind === "inclusion") {
        await ProofCheck.verifyInclusion(c.leafIdx, c.treeSize, b(c.leafHash),
                                         (c.proof || []).map(b), b(c.root));
      } else {
        await ProofCheck.verifyConsistency(c.size1, c.size2, b(c.root1), b(c.root2),
                                           (c.proof || []).map(b));
      }
      verdicts.push(true);
    } catch (e) { verdicts.push(false); }
  }
  console.log(JSON.stringify(verdicts));
})();
"""


def _node(program: str, cases: list[Any]) -> list[Any]:
    assert NODE is not None
    done = subprocess.run([NODE, "-e", program, str(SCRIPT)], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=60, check=True)
    return list(json.loads(done.stdout))


def _flip(b64: str, at: int = 0) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _real_proof(session: Session, settings: Settings) -> dict[str, Any]:
    start, _ = _fill(session, settings, 13)
    proof = explorer.entry_proof(session, settings, AUDITOR, start + 6).for_browser()
    assert proof["inclusionPath"], "a proof in a tree of more than one leaf has a path"
    return proof


def test_a_real_entry_is_accepted_and_each_tampering_rejected(session: Session,
                                                              settings: Settings) -> None:
    proof = _real_proof(session, settings)
    entry = proof["entry"]
    one_byte = entry.replace('"outcome":"success"', '"outcome":"succesS"')
    assert one_byte != entry
    path = list(proof["inclusionPath"])
    path[0] = _flip(path[0], 5)
    note = proof["checkpoint"]
    signature_line = note.rstrip("\n").split("\n")[-1]
    blob = signature_line[2:].split(" ")[1]
    forged_signature = note.replace(blob, _flip(blob, 20))
    cases = [proof,
             {**proof, "entry": one_byte, "leafHash": None},  # one byte of the leaf data
             {**proof, "inclusionPath": path},  # one byte of a path hash
             {**proof, "leafIndex": proof["leafIndex"] + 1},  # the proof of another place
             {**proof, "checkpoint": forged_signature},  # a signature not by the log's key
             {**proof, "entry": None, "leafHash": _flip(proof["leafHash"])}]
    results = _node(CHECK_PROOFS, cases)
    assert results[0]["accepted"] and results[0]["inclusion"] and results[0]["signature"], \
        results[0]
    assert [r["accepted"] for r in results[1:]] == [False] * 5, results
    assert results[4]["inclusion"] and results[4]["signature"] is False  # root fine, key not


def test_the_checkpoint_of_another_log_is_rejected(session: Session, settings: Settings,
                                                   tmp_path: Path) -> None:
    proof = _real_proof(session, settings)
    other = Settings(environment="test", database_url=settings.database_url,
                     data_dir=tmp_path, secret_key="another-log-secret")
    foreign_key = explorer._head(other, 1, bytes(32), "").verifier_key
    results = _node(CHECK_PROOFS, [{**proof, "verifierKey": foreign_key}])
    assert results[0]["accepted"] is False and results[0]["signature"] is False


def test_every_merkle_vector_gets_its_expected_verdict_in_javascript() -> None:
    cases, expected = [], []
    for kind in ("inclusion", "consistency"):
        for path in sorted((VECTORS / kind).rglob("*.json")):
            case = json.loads(path.read_text())
            cases.append([kind, case])
            expected.append(not case["wantErr"])
    assert len(cases) == 196
    assert _node(CHECK_VECTORS, cases) == expected


def test_the_script_is_plain_javascript_without_imports_or_remote_code() -> None:
    text = SCRIPT.read_text()
    for forbidden in ("import ", "http://", "https://", "eval(", "innerHTML"):
        assert forbidden not in text, forbidden


def test_a_checkpoint_signed_by_a_key_whose_base64_holds_a_plus_is_accepted() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from caldicott.ledger.core.checkpoint import Checkpoint, origin_for, verifier_key

    for seed in range(256):  # find a key whose verifier key's base64 has a "+"
        key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        origin = origin_for(key.public_key())
        vkey = verifier_key(origin, key.public_key())
        if "+" in vkey.split("+", 2)[2]:
            break
    else:
        raise AssertionError("no such key among 256 seeds")
    note = Checkpoint(origin, 1, _leaf_of("x")).sign(key)
    results = _node(CHECK_PROOFS, [{"entry": "x", "leafHash": None, "leafIndex": 0, "treeSize": 1,
                                    "inclusionPath": [], "checkpoint": note,
                                    "verifierKey": vkey}])
    assert results[0]["accepted"] and results[0]["signature"], results


def _leaf_of(entry: str) -> bytes:
    import hashlib

    return hashlib.sha256(b"\x00" + entry.encode()).digest()


PARSE_KEY = """
const ProofCheck = require(process.argv[1]);
const keys = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(keys.map(k => {
  const v = ProofCheck.parseVerifierKey(k);
  return [v.name, v.keyId, v.algorithm, Buffer.from(v.key).toString("base64")];
})));
"""


def test_a_verifier_key_whose_base64_holds_a_plus_is_read_whole() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from caldicott.ledger.core.checkpoint import origin_for, verifier_key

    found = []
    for seed in range(64):
        public = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32).public_key()
        text = verifier_key(origin_for(public), public)
        name, key_id, key = text.split("+", 2)
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        found.append((text, [name, key_id, 1, base64.b64encode(raw).decode()], "+" in key))
    assert any(plus for *_, plus in found)  # the case that once broke the check
    parsed = _node(PARSE_KEY, [text for text, _, _ in found])
    assert parsed == [wanted for _, wanted, _ in found]
