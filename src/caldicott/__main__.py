from caldicott.cli import main

main()
