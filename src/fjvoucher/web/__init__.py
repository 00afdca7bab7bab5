"""Verification for anyone: the 真伪查询 page, its JSON API and the QR link, served from the ledger."""
