"""How a forward / forward_backward chunk goes on the wire, by what the server offered: a
protobuf body (zstd-compressed when advertised) on /forward_backward, `forward` included as
`forward_only` where the server reads it so; else the JSON request of the 0.7-era protocol.
A datum the protobuf message cannot carry sends its request as JSON (nothing is dropped)."""

from __future__ import annotations

import logging
from typing import Any

from tinker_api_client.api.training import forward, forward_backward
from tinker_api_client.models import ForwardBackwardInput, ForwardBackwardRequest, ForwardRequest
from tinker_api_client.types import Unset

from ._http import PreparedRequest, prepare, prepare_content
from ._server_features import ServerFeatures
from .types._number_lists import Certified

logger = logging.getLogger("tinker_hl")


def prepare_forward(
    features: ServerFeatures,
    model_id: str,
    seq_id: int,
    fb_input: ForwardBackwardInput,
    backward: bool,
    certified: Certified | None = None,
) -> PreparedRequest:
    """The encoded request of one chunk (`backward`: forward_backward, else forward).
    `certified`: what validation left for the encoder (`certification_for`)."""
    if uses_protobuf(features, backward):
        protobuf_certified = certified if certified is not None and not certified.json else None
        prepared = _prepare_protobuf(
            features, model_id, seq_id, fb_input, backward, protobuf_certified
        )
        if prepared is not None:
            return prepared
    json_certified = certified if certified is not None and certified.json else None
    body: ForwardBackwardRequest | ForwardRequest
    if backward:
        body = ForwardBackwardRequest(
            forward_backward_input=fb_input, model_id=model_id, seq_id=seq_id
        )
        return prepare("forward_backward", forward_backward, certified=json_certified, body=body)
    body = ForwardRequest(forward_input=fb_input, model_id=model_id, seq_id=seq_id)
    return prepare("forward", forward, certified=json_certified, body=body)


def uses_protobuf(features: ServerFeatures, backward: bool) -> bool:
    """Whether a forward (`backward` False) or forward_backward chunk goes as protobuf."""
    return features.protobuf_requests and (backward or features.forward_via_forward_backward)


def certification_for(features: ServerFeatures, backward: bool) -> Certified:
    """Where validation should leave its scans' output for this request's encoder: JSON texts,
    or marshal's records for the protobuf packer."""
    return Certified(json=not uses_protobuf(features, backward))


def _prepare_protobuf(
    features: ServerFeatures,
    model_id: str,
    seq_id: int,
    fb_input: ForwardBackwardInput,
    backward: bool,
    certified: Certified | None,
) -> PreparedRequest | None:
    from ._protobuf_codec import PROTOBUF, NotEncodable, compress, encode_forward_backward

    config: Any = fb_input.loss_fn_config
    config_dict = None if config is None or isinstance(config, Unset) else config.to_dict()
    loss_fn = str(getattr(fb_input.loss_fn, "value", fb_input.loss_fn))
    try:
        content = encode_forward_backward(
            model_id=model_id,
            seq_id=seq_id,
            data=fb_input.data,
            loss_fn=loss_fn,
            loss_fn_config=config_dict,
            forward_only=not backward,
            certified=certified,
        )
    except NotEncodable as exc:
        logger.debug("sent as JSON: %s", exc)
        return None
    headers = {"Content-Type": PROTOBUF}
    if features.compressed_requests:
        content = compress(content)
        headers["Content-Encoding"] = "zstd"
    # The stand-in body only gives the generated request its method and URL.
    stand_in = ForwardBackwardRequest(
        forward_backward_input=ForwardBackwardInput(data=[], loss_fn=fb_input.loss_fn),
        model_id=model_id,
        seq_id=seq_id,
    )
    operation = "forward_backward" if backward else "forward"
    return prepare_content(operation, forward_backward, content, headers, body=stand_in)


__all__ = ["certification_for", "prepare_forward", "uses_protobuf"]
