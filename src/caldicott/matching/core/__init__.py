"""The matcher's pure core: normalisation, the Fellegi-Sunter scorer and the
release rule. Imports neither SQLAlchemy nor FastAPI (a test walks the imports)."""
