from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.sample_request_type import SampleRequestType, check_sample_request_type
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.model_input import ModelInput
    from ..models.sampling_params import SamplingParams
    from ..models.tensor_data import TensorData


T = TypeVar("T", bound="SampleRequest")


@_attrs_define
class SampleRequest:
    prompt: ModelInput
    sampling_params: SamplingParams
    num_samples: int | Unset = 1
    base_model: None | str | Unset = UNSET
    model_path: None | str | Unset = UNSET
    sampling_session_id: None | str | Unset = UNSET
    seq_id: int | None | Unset = UNSET
    prompt_logprobs: bool | None | Unset = UNSET
    topk_prompt_logprobs: int | Unset = 0
    prompt_logprobs_last_n: int | None | Unset = UNSET
    """ Score only the last N prompt tokens (earlier entries are null); needs
    prompt_logprobs, and N at most len(prompt) - 1. Also applies to topk_prompt_logprobs.
     """
    topk_sample_logprobs: int | Unset = 0
    """ k > 0: each sampled token also gets the k most likely tokens of its step, with their
    logprobs (SampledSequence.topk_logprobs); at most the vocabulary size.
     """
    target_prompt_logprobs: None | TensorData | Unset = UNSET
    """ Token ids whose prompt logprobs to return: int64, shape [len(prompt) - 1, K], cell
    [i, j] scored at prompt position i + 1, -1 asks nothing; dense or sparse CSR (the
    unlisted cells ask nothing). At least one id. SampleResponse.target_prompt_logprobs
    has the same shape and layout.
     """
    prompt_alt_tokens_k: int | Unset = 0
    """ When > 0, draw this many tokens, independently (with replacement) and at the
    request's temperature, from the next-token distribution at every prompt position
    after the first, in the prefill that serves the request
    (SampleResponse.prompt_alt_tokens).
     """
    record_stability_info: bool | None | Unset = UNSET
    """ Stability records for StableReinforce; not supported locally (400 when true). """
    type_: SampleRequestType | Unset = "sample"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        prompt = self.prompt.to_dict()

        sampling_params = self.sampling_params.to_dict()

        num_samples = self.num_samples

        base_model: None | str | Unset
        if isinstance(self.base_model, Unset):
            base_model = UNSET
        else:
            base_model = self.base_model

        model_path: None | str | Unset
        if isinstance(self.model_path, Unset):
            model_path = UNSET
        else:
            model_path = self.model_path

        sampling_session_id: None | str | Unset
        if isinstance(self.sampling_session_id, Unset):
            sampling_session_id = UNSET
        else:
            sampling_session_id = self.sampling_session_id

        seq_id: int | None | Unset
        if isinstance(self.seq_id, Unset):
            seq_id = UNSET
        else:
            seq_id = self.seq_id

        prompt_logprobs: bool | None | Unset
        if isinstance(self.prompt_logprobs, Unset):
            prompt_logprobs = UNSET
        else:
            prompt_logprobs = self.prompt_logprobs

        topk_prompt_logprobs = self.topk_prompt_logprobs

        prompt_logprobs_last_n: int | None | Unset
        if isinstance(self.prompt_logprobs_last_n, Unset):
            prompt_logprobs_last_n = UNSET
        else:
            prompt_logprobs_last_n = self.prompt_logprobs_last_n

        topk_sample_logprobs = self.topk_sample_logprobs

        target_prompt_logprobs: dict[str, Any] | None | Unset
        if isinstance(self.target_prompt_logprobs, Unset):
            target_prompt_logprobs = UNSET
        elif isinstance(self.target_prompt_logprobs, TensorData):
            target_prompt_logprobs = self.target_prompt_logprobs.to_dict()
        else:
            target_prompt_logprobs = self.target_prompt_logprobs

        prompt_alt_tokens_k = self.prompt_alt_tokens_k

        record_stability_info: bool | None | Unset
        if isinstance(self.record_stability_info, Unset):
            record_stability_info = UNSET
        else:
            record_stability_info = self.record_stability_info

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "prompt": prompt,
                "sampling_params": sampling_params,
            }
        )
        if num_samples is not UNSET:
            field_dict["num_samples"] = num_samples
        if base_model is not UNSET:
            field_dict["base_model"] = base_model
        if model_path is not UNSET:
            field_dict["model_path"] = model_path
        if sampling_session_id is not UNSET:
            field_dict["sampling_session_id"] = sampling_session_id
        if seq_id is not UNSET:
            field_dict["seq_id"] = seq_id
        if prompt_logprobs is not UNSET:
            field_dict["prompt_logprobs"] = prompt_logprobs
        if topk_prompt_logprobs is not UNSET:
            field_dict["topk_prompt_logprobs"] = topk_prompt_logprobs
        if prompt_logprobs_last_n is not UNSET:
            field_dict["prompt_logprobs_last_n"] = prompt_logprobs_last_n
        if topk_sample_logprobs is not UNSET:
            field_dict["topk_sample_logprobs"] = topk_sample_logprobs
        if target_prompt_logprobs is not UNSET:
            field_dict["target_prompt_logprobs"] = target_prompt_logprobs
        if prompt_alt_tokens_k is not UNSET:
            field_dict["prompt_alt_tokens_k"] = prompt_alt_tokens_k
        if record_stability_info is not UNSET:
            field_dict["record_stability_info"] = record_stability_info
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.model_input import ModelInput  # noqa: PLC0415
        from ..models.sampling_params import SamplingParams  # noqa: PLC0415
        from ..models.tensor_data import TensorData  # noqa: PLC0415

        d = dict(src_dict)
        prompt = ModelInput.from_dict(d.pop("prompt"))

        sampling_params = SamplingParams.from_dict(d.pop("sampling_params"))

        num_samples = d.pop("num_samples", UNSET)

        def _parse_base_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        base_model = _parse_base_model(d.pop("base_model", UNSET))

        def _parse_model_path(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model_path = _parse_model_path(d.pop("model_path", UNSET))

        def _parse_sampling_session_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        sampling_session_id = _parse_sampling_session_id(
            d.pop("sampling_session_id", UNSET)
        )

        def _parse_seq_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seq_id = _parse_seq_id(d.pop("seq_id", UNSET))

        def _parse_prompt_logprobs(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        prompt_logprobs = _parse_prompt_logprobs(d.pop("prompt_logprobs", UNSET))

        topk_prompt_logprobs = d.pop("topk_prompt_logprobs", UNSET)

        def _parse_prompt_logprobs_last_n(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        prompt_logprobs_last_n = _parse_prompt_logprobs_last_n(
            d.pop("prompt_logprobs_last_n", UNSET)
        )

        topk_sample_logprobs = d.pop("topk_sample_logprobs", UNSET)

        def _parse_target_prompt_logprobs(data: object) -> None | TensorData | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                target_prompt_logprobs_type_0 = TensorData.from_dict(data)

                return target_prompt_logprobs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TensorData | Unset, data)

        target_prompt_logprobs = _parse_target_prompt_logprobs(
            d.pop("target_prompt_logprobs", UNSET)
        )

        prompt_alt_tokens_k = d.pop("prompt_alt_tokens_k", UNSET)

        def _parse_record_stability_info(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        record_stability_info = _parse_record_stability_info(
            d.pop("record_stability_info", UNSET)
        )

        _type_ = d.pop("type", UNSET)
        type_: SampleRequestType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_sample_request_type(_type_)

        sample_request = cls(
            prompt=prompt,
            sampling_params=sampling_params,
            num_samples=num_samples,
            base_model=base_model,
            model_path=model_path,
            sampling_session_id=sampling_session_id,
            seq_id=seq_id,
            prompt_logprobs=prompt_logprobs,
            topk_prompt_logprobs=topk_prompt_logprobs,
            prompt_logprobs_last_n=prompt_logprobs_last_n,
            topk_sample_logprobs=topk_sample_logprobs,
            target_prompt_logprobs=target_prompt_logprobs,
            prompt_alt_tokens_k=prompt_alt_tokens_k,
            record_stability_info=record_stability_info,
            type_=type_,
        )

        sample_request.additional_properties = d
        return sample_request

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
