"""``python -m craftvision`` (and ``torchrun -m craftvision``) runs the command line."""

from craftvision.cli import main

if __name__ == "__main__":
    main()
