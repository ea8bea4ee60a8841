"""`python -m tinker_local [serve] [OPTIONS]`: the same command as `tinker-hl serve`."""

from tinker_local.cli import main

if __name__ == "__main__":
    main()
