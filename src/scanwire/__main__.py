from scanwire.cli import main

main()
