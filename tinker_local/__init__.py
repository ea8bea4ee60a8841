"""The local Tinker-compatible backend (`tinker-hl serve`)."""
