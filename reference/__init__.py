"""Definitions shared by every domain package, with no imports from the project: code lists (loan product
types, collateral kinds, GB/T 4754-2017 industry sections, size classes, need purposes), the 2011 SME size
thresholds and the financial ratios."""
