"""The register of authorised signatories of each requesting organisation."""
