from mailmigrate.cli import main

main()
