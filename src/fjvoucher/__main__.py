from fjvoucher.cli import cli

cli(prog_name="fjvoucher")
