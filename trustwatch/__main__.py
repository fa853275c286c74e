from trustwatch.cli import main

main()
