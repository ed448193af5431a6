"""Codes and classifications shared by every domain package: loan product types, collateral kinds,
GB/T 4754-2017 industry sections, enterprise size classes. Pure data, no imports from the project."""
