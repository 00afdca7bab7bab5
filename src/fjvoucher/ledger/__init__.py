"""The ledger: every voucher issued, its NO, validity and status; and the monthly report built from it."""
