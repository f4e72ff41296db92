from costkit.cli import main

main()
