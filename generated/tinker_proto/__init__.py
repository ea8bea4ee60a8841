"""Protobuf messages of the Tinker protocol, compiled from tinker_public.proto by
`make generate` (never edit by hand)."""
