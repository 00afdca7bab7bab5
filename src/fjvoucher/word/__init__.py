"""Word: voucher masters (docxtpl or MERGEFIELD), rendering vouchers into DOCX, photos.  The only code
that touches docxtpl, Jinja2 and lxml."""
