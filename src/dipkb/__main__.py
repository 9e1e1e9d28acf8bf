from dipkb.cli import main

main()
