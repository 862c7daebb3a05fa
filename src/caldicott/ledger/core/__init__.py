"""The ledger's pure core: Merkle maths (RFC 9162), signed checkpoints, audit events.

No database or web imports here; a test walks the imports.
"""
