"""Accounts and bearer tokens for the four roles (admin, bank, regulator, sme)."""
