from resonance.cli import main

main()
