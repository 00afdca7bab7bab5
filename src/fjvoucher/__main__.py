from fjvoucher.cli import main

main()
