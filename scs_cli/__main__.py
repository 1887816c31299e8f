from scs_cli.cli.app import main

main()
