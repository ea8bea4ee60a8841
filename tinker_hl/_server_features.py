"""ServerFeatures: the protocol steps a server offered at client/config, as the client uses
them. Kept apart from the probe (`_negotiation`) so the call pipeline can hold them without
importing what sends requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    """All off: the JSON protocol of a 0.7-era server."""

    negotiated: bool = False  # the server answered client/config at all
    protobuf_requests: bool = False  # forward_backward bodies as protobuf
    compressed_requests: bool = False  # ... zstd-compressed
    forward_via_forward_backward: bool = False  # forward = forward_backward(forward_only)
    model_via_load_weights: bool = False  # load_weights without model_id creates the model
    jwt: bool = False  # exchange the API key at auth/token
    custom_losses: bool = False  # loss_fn="custom" (a loss graph registered on the server)

    @property
    def protobuf_results(self) -> bool:
        """Ask for protobuf results in polls: a server that reads protobuf bodies writes them
        (the SDKs since 0.22 pair the two); a poll answered in JSON is still read as JSON."""
        return self.protobuf_requests

    @property
    def finishes_sessions(self) -> bool:
        """sessions/{id}/finish exists only on servers of the negotiated era (a 0.7-era server
        is not sent it; a negotiated one that lacks it answers 404, which is tolerated)."""
        return self.negotiated

    @classmethod
    def from_config(cls, config: Any) -> ServerFeatures:
        """From a ClientConfigResponse; a flag that is absent or not `true` is off."""

        def flag(name: str) -> bool:
            return getattr(config, name, None) is True

        protobuf = flag("proto_write_fwdbwd") and protobuf_available()
        return cls(
            negotiated=True,
            protobuf_requests=protobuf,
            compressed_requests=protobuf and flag("proto_compress_fwdbwd") and zstd_available(),
            forward_via_forward_backward=protobuf and flag("fwd_via_fwdbwd"),
            model_via_load_weights=flag("create_model_via_load_weights"),
            jwt=flag("pjwt_auth_enabled"),
            custom_losses=flag("custom_loss_server_side"),
        )


def protobuf_available() -> bool:
    """The protobuf runtime and our compiled messages are importable (an optional install)."""
    try:
        import tinker_proto.tinker_public_pb2  # noqa: F401
    except ImportError:
        return False
    return True


def zstd_available() -> bool:
    try:
        import zstandard  # noqa: F401
    except ImportError:
        return False
    return True


JSON_ONLY = ServerFeatures()

__all__ = ["JSON_ONLY", "ServerFeatures", "protobuf_available", "zstd_available"]
