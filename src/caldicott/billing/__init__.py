"""Billing: usage events (metered once each), versioned prices, bills per organisation per
NHS financial year and per month, credit notes and statements."""
