"""The pure core of billing: prices and their rules, financial years, rating, bill sums."""
