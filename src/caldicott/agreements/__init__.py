"""Data-sharing agreements as policy: versioned documents decided by Cedar."""
