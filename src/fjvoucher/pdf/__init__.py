"""PDF: one engine interface (`open_engine`, `sweep`), LibreOffice and Word behind it, pages and fonts."""
