from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.client_config_response_credential_default_source import (
    ClientConfigResponseCredentialDefaultSource,
    check_client_config_response_credential_default_source,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="ClientConfigResponse")


@_attrs_define
class ClientConfigResponse:
    """Feature flags; a client keeps its own default for any flag not answered."""

    pjwt_auth_enabled: bool | Unset = UNSET
    """ Exchange the API key at auth/token. """
    credential_default_source: ClientConfigResponseCredentialDefaultSource | Unset = (
        UNSET
    )
    proto_write_fwdbwd: bool | Unset = UNSET
    """ forward_backward bodies as protobuf (0.22). """
    fwd_via_fwdbwd: bool | Unset = UNSET
    """ forward as forward_backward with forward_only (0.22). """
    proto_compress_fwdbwd: bool | Unset = UNSET
    """ zstd-compressed protobuf bodies. """
    parallel_fwdbwd_chunks: bool | Unset = UNSET
    create_model_via_load_weights: bool | Unset = UNSET
    """ load_weights without model_id creates the model (0.30). """
    sample_use_retrieve_futures: bool | Unset = UNSET
    custom_loss_server_side: bool | Unset = UNSET
    """ Always false; custom losses run client-side. """
    sample_join_sampling_session: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pjwt_auth_enabled = self.pjwt_auth_enabled

        credential_default_source: str | Unset = UNSET
        if not isinstance(self.credential_default_source, Unset):
            credential_default_source = self.credential_default_source

        proto_write_fwdbwd = self.proto_write_fwdbwd

        fwd_via_fwdbwd = self.fwd_via_fwdbwd

        proto_compress_fwdbwd = self.proto_compress_fwdbwd

        parallel_fwdbwd_chunks = self.parallel_fwdbwd_chunks

        create_model_via_load_weights = self.create_model_via_load_weights

        sample_use_retrieve_futures = self.sample_use_retrieve_futures

        custom_loss_server_side = self.custom_loss_server_side

        sample_join_sampling_session = self.sample_join_sampling_session

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if pjwt_auth_enabled is not UNSET:
            field_dict["pjwt_auth_enabled"] = pjwt_auth_enabled
        if credential_default_source is not UNSET:
            field_dict["credential_default_source"] = credential_default_source
        if proto_write_fwdbwd is not UNSET:
            field_dict["proto_write_fwdbwd"] = proto_write_fwdbwd
        if fwd_via_fwdbwd is not UNSET:
            field_dict["fwd_via_fwdbwd"] = fwd_via_fwdbwd
        if proto_compress_fwdbwd is not UNSET:
            field_dict["proto_compress_fwdbwd"] = proto_compress_fwdbwd
        if parallel_fwdbwd_chunks is not UNSET:
            field_dict["parallel_fwdbwd_chunks"] = parallel_fwdbwd_chunks
        if create_model_via_load_weights is not UNSET:
            field_dict["create_model_via_load_weights"] = create_model_via_load_weights
        if sample_use_retrieve_futures is not UNSET:
            field_dict["sample_use_retrieve_futures"] = sample_use_retrieve_futures
        if custom_loss_server_side is not UNSET:
            field_dict["custom_loss_server_side"] = custom_loss_server_side
        if sample_join_sampling_session is not UNSET:
            field_dict["sample_join_sampling_session"] = sample_join_sampling_session

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        pjwt_auth_enabled = d.pop("pjwt_auth_enabled", UNSET)

        _credential_default_source = d.pop("credential_default_source", UNSET)
        credential_default_source: ClientConfigResponseCredentialDefaultSource | Unset
        if isinstance(_credential_default_source, Unset):
            credential_default_source = UNSET
        else:
            credential_default_source = (
                check_client_config_response_credential_default_source(
                    _credential_default_source
                )
            )

        proto_write_fwdbwd = d.pop("proto_write_fwdbwd", UNSET)

        fwd_via_fwdbwd = d.pop("fwd_via_fwdbwd", UNSET)

        proto_compress_fwdbwd = d.pop("proto_compress_fwdbwd", UNSET)

        parallel_fwdbwd_chunks = d.pop("parallel_fwdbwd_chunks", UNSET)

        create_model_via_load_weights = d.pop("create_model_via_load_weights", UNSET)

        sample_use_retrieve_futures = d.pop("sample_use_retrieve_futures", UNSET)

        custom_loss_server_side = d.pop("custom_loss_server_side", UNSET)

        sample_join_sampling_session = d.pop("sample_join_sampling_session", UNSET)

        client_config_response = cls(
            pjwt_auth_enabled=pjwt_auth_enabled,
            credential_default_source=credential_default_source,
            proto_write_fwdbwd=proto_write_fwdbwd,
            fwd_via_fwdbwd=fwd_via_fwdbwd,
            proto_compress_fwdbwd=proto_compress_fwdbwd,
            parallel_fwdbwd_chunks=parallel_fwdbwd_chunks,
            create_model_via_load_weights=create_model_via_load_weights,
            sample_use_retrieve_futures=sample_use_retrieve_futures,
            custom_loss_server_side=custom_loss_server_side,
            sample_join_sampling_session=sample_join_sampling_session,
        )

        client_config_response.additional_properties = d
        return client_config_response

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
