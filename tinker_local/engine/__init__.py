"""The local backend's compute engine: a pure-Python API over torch/transformers/peft.

Plain inputs (lists of ints, numpy arrays, dicts) and plain outputs; nothing here knows about
HTTP or the generated API models. Errors caused by the caller's data raise `UserInputError`.
"""

from .checkpoints import load_lora_checkpoint, load_tensors, save_lora_checkpoint, save_tensors
from .errors import UserInputError
from .losses import LOSS_FNS
from .models import (
    LoraSpec,
    build_base_model,
    save_base_model,
    save_merged_model,
)
from .presets import DEFAULT_MODEL, PRESETS, ModelPreset, get_preset
from .sampler import SampledSequence, Sampler, SampleResult
from .trainer import DatumArrays, ForwardResult, LoraTrainer

__all__ = [
    "DEFAULT_MODEL",
    "LOSS_FNS",
    "PRESETS",
    "DatumArrays",
    "ForwardResult",
    "LoraSpec",
    "LoraTrainer",
    "ModelPreset",
    "SampleResult",
    "SampledSequence",
    "Sampler",
    "UserInputError",
    "build_base_model",
    "get_preset",
    "load_lora_checkpoint",
    "load_tensors",
    "save_base_model",
    "save_lora_checkpoint",
    "save_merged_model",
    "save_tensors",
]
