/*
 * proof-check.js: check, in the browser, that a ledger entry is in the log the
 * signed checkpoint vouches for. Plain JavaScript, no build step, no dependency:
 * WebCrypto only (SHA-256; Ed25519 where the browser has it, as Chromium does).
 *
 *   1. leaf = SHA-256(0x00 || UTF-8 entry)                       (RFC 9162 2.1.1)
 *   2. root = fold the inclusion path from the leaf              (RFC 9162 2.1.3.2)
 *   3. root must equal the root in the checkpoint, and the proof's tree size its size
 *   4. the checkpoint (a C2SP signed note) must carry a valid Ed25519 signature by the
 *      key named in the verifier key "name+keyid+base64(0x01 || key)"
 *
 * Use in a page:  <script src="/ledger/static/proof-check.js"></script>
 *                 ProofCheck.checkEntry(proof).then(result => ...)
 * or mark up  <div data-proof-check="proof-json-id"><button ...></button>
 *             <p data-proof-result role="status"></p></div>  and call ProofCheck.attach(document).
 * In Node (tests): const ProofCheck = require(".../proof-check.js").
 */
(function (root) {
  "use strict";

  var subtle = root.crypto && root.crypto.subtle;
  var encoder = new TextEncoder();
  var ED25519 = 1;

  function fromBase64(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
      throw new Error("not base64");
    }
    var binary = atob(text);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  function concat(parts) {
    var length = parts.reduce(function (n, p) { return n + p.length; }, 0);
    var out = new Uint8Array(length);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  async function sha256(bytes) {
    return new Uint8Array(await subtle.digest("SHA-256", bytes));
  }

  function leafHash(entryBytes) { return sha256(concat([Uint8Array.of(0), entryBytes])); }
  function nodeHash(left, right) { return sha256(concat([Uint8Array.of(1), left, right])); }

  function checkHash(value, what) {
    if (!(value instanceof Uint8Array) || value.length !== 32) {
      throw new Error(what + " is not a 32-byte SHA-256 hash");
    }
  }

  /* RFC 9162 2.1.3.2: the root an inclusion proof leads to (throws if malformed). */
  async function rootFromInclusionProof(index, size, leaf, path) {
    if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
      throw new Error("index " + index + " is outside a tree of size " + size);
    }
    checkHash(leaf, "leaf hash");
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < path.length; i++) {
      var p = path[i];
      checkHash(p, "proof hash");
      if (sn === 0) throw new Error("inclusion proof is longer than the tree is deep");
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("inclusion proof is too short");
    return r;
  }

  async function verifyInclusion(index, size, leaf, path, expectedRoot) {
    checkHash(expectedRoot, "root");
    var computed = await rootFromInclusionProof(index, size, leaf, path);
    if (!equal(computed, expectedRoot)) throw new Error("inclusion proof does not lead to the root");
  }

  function isPowerOfTwo(n) {  // not n & (n - 1): JavaScript's bit operators are 32-bit
    while (n > 1 && n % 2 === 0) n = n / 2;
    return n === 1;
  }

  /* RFC 9162 2.1.4.2: does the tree of size2 extend the tree of size1? (throws if not) */
  async function verifyConsistency(size1, size2, root1, root2, path) {
    if (size1 > size2) throw new Error("size " + size1 + " is larger than size " + size2);
    if (size1 === 0) throw new Error("a consistency proof from the empty tree proves nothing");
    if (size1 === size2) {
      if (path.length) throw new Error("equal sizes need an empty proof");
      if (!equal(root1, root2)) throw new Error("equal sizes but different roots");
      return;
    }
    checkHash(root1, "first root"); checkHash(root2, "second root");
    path.forEach(function (p) { checkHash(p, "proof hash"); });
    if (!path.length) throw new Error("empty consistency proof");
    var nodes = path.slice();
    if (isPowerOfTwo(size1)) nodes.unshift(root1);
    var fn = size1 - 1, sn = size2 - 1;
    while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    var fr = nodes[0], sr = nodes[0];
    for (var i = 1; i < nodes.length; i++) {
      var c = nodes[i];
      if (sn === 0) throw new Error("consistency proof is too long");
      if (fn % 2 === 1 || fn === sn) {
        fr = await nodeHash(c, fr); sr = await nodeHash(c, sr);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0 || !equal(fr, root1) || !equal(sr, root2)) {
      throw new Error("consistency proof does not lead to both roots");
    }
  }

  /* A C2SP checkpoint: origin, size, base64 root, blank line, "— name base64(keyid||sig)". */
  function parseCheckpoint(note) {
    var split = note.indexOf("\n\n");
    if (split < 0) throw new Error("not a signed note: no blank line before the signatures");
    var body = note.slice(0, split + 1);
    var lines = body.split("\n");
    if (lines.length !== 4 || !/^[1-9][0-9]*$|^0$/.test(lines[1])) {
      throw new Error("a checkpoint body is origin, size and root, each on its own line");
    }
    var signatures = note.slice(split + 2).split("\n").filter(function (l) {
      return l.indexOf("\u2014 ") === 0;
    }).map(function (l) {
      var rest = l.slice(2), space = rest.indexOf(" ");
      return { name: rest.slice(0, space), blob: rest.slice(space + 1) };
    });
    return { origin: lines[0], size: Number(lines[1]), root: fromBase64(lines[2]),
             body: encoder.encode(body), signatures: signatures };
  }

  function parseVerifierKey(text) {
    // name+keyid+key: the key is base64, which may itself hold "+"; the name may not.
    var first = text.indexOf("+"), second = text.indexOf("+", first + 1);
    var parts = [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
    if (first < 1 || second < 0 || !/^[0-9a-f]{8}$/.test(parts[1])) throw new Error("malformed verifier key");
    var raw = fromBase64(parts[2]);
    return { name: parts[0], keyId: parts[1], algorithm: raw[0], key: raw.slice(1) };
  }

  /* true (valid), false (invalid or no signature by this key), or null (no Ed25519 here). */
  async function verifyCheckpointSignature(checkpoint, verifier) {
    if (verifier.algorithm !== ED25519 || verifier.key.length !== 32) return false;
    if (verifier.name !== checkpoint.origin) return false;
    var wanted = (await sha256(concat([encoder.encode(verifier.name + "\n"),
                                       Uint8Array.of(ED25519), verifier.key]))).slice(0, 4);
    if (hex(wanted) !== verifier.keyId) return false;
    var key;
    try {
      key = await subtle.importKey("raw", verifier.key, { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      return null;  // this browser's WebCrypto has no Ed25519
    }
    for (var i = 0; i < checkpoint.signatures.length; i++) {
      var s = checkpoint.signatures[i], blob;
      try { blob = fromBase64(s.blob); } catch (e) { continue; }
      if (s.name !== checkpoint.origin || blob.length !== 68 || !equal(blob.slice(0, 4), wanted)) continue;
      return await subtle.verify({ name: "Ed25519" }, key, blob.slice(4), checkpoint.body);
    }
    return false;
  }

  /*
   * proof: {entry (text) and/or leafHash (base64), leafIndex, treeSize, inclusionPath
   * (base64 list), checkpoint (signed note text), verifierKey}. Resolves to
   * {accepted, inclusion, signature (true, false or null: not checkable here), reason}.
   */
  async function checkEntry(proof) {
    var result = { accepted: false, inclusion: false, signature: false, reason: "" };
    try {
      var leaf = proof.entry !== undefined && proof.entry !== null
        ? await leafHash(encoder.encode(proof.entry)) : fromBase64(proof.leafHash);
      if (proof.entry != null && proof.leafHash != null && !equal(leaf, fromBase64(proof.leafHash))) {
        throw new Error("the entry does not match its leaf hash");
      }
      var checkpoint = parseCheckpoint(proof.checkpoint);
      if (checkpoint.size !== proof.treeSize) {
        throw new Error("the proof is for a tree of " + proof.treeSize +
                        " entries, the checkpoint for " + checkpoint.size);
      }
      await verifyInclusion(proof.leafIndex, proof.treeSize, leaf,
                            proof.inclusionPath.map(fromBase64), checkpoint.root);
      result.inclusion = true;
      result.signature = await verifyCheckpointSignature(checkpoint, parseVerifierKey(proof.verifierKey));
      if (result.signature === false) throw new Error("the checkpoint's signature does not verify");
      result.accepted = true;
      result.reason = result.signature
        ? "The entry is in the log of " + checkpoint.size + " entries, and the checkpoint's signature is valid."
        : "The entry is in the log of " + checkpoint.size +
          " entries; this browser cannot check Ed25519 signatures, so check the checkpoint elsewhere.";
    } catch (error) {
      result.accepted = false;
      result.reason = "Not verified: " + error.message + ".";
    }
    return result;
  }

  /* Progressive enhancement: each [data-proof-check] names the element holding a proof as
   * JSON: a <script type="application/json">, or a <textarea> (its current value, so a
   * reader may edit the proof and see a tampered one refused). */
  function attach(doc) {
    Array.prototype.forEach.call(doc.querySelectorAll("[data-proof-check]"), function (box) {
      var button = box.querySelector("button");
      var out = box.querySelector("[data-proof-result]");
      var run = async function () {
        var source = doc.getElementById(box.getAttribute("data-proof-check"));
        var text = source.tagName === "TEXTAREA" ? source.value : source.textContent;
        var result;
        try {
          result = await checkEntry(JSON.parse(text));
        } catch (error) {
          result = { accepted: false, reason: "Not verified: the proof is not valid JSON." };
        }
        out.textContent = "";  // a live region announces a change: clear, then say it
        await new Promise(function (resolve) { setTimeout(resolve, 50); });
        out.textContent = result.reason;
        box.setAttribute("data-proof-accepted", String(result.accepted));
      };
      if (button) { button.hidden = false; button.addEventListener("click", run); } else { run(); }
    });
  }

  var api = { checkEntry: checkEntry, verifyInclusion: verifyInclusion,
              verifyConsistency: verifyConsistency, rootFromInclusionProof: rootFromInclusionProof,
              parseCheckpoint: parseCheckpoint, parseVerifierKey: parseVerifierKey,
              verifyCheckpointSignature: verifyCheckpointSignature, attach: attach };
  root.ProofCheck = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
