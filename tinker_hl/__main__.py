"""`python -m tinker_hl ...`: the `tinker-hl` command line."""

from tinker_hl.cli import main

if __name__ == "__main__":
    main()
