"""Reading and checking rosters: everything `fjvoucher validate` needs, and nothing of Word, PDF or the ledger."""
