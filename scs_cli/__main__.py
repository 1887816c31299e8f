from scs_cli.cli.start import main

main()
