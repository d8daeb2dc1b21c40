"""Tiny L-CAD configuration of the tests (lcad-model.md section 6.6)."""

TINY_UNET = {
    "gray_channels": 64,
    "block_out_channels": (32, 64, 64),
    "attention_levels": (True, True, False),
    "layers_per_block": 2,
    "cross_attention_dim": 32,
    "attention_head_dim": 2,
    "sample_size": 16,
}
TINY_VAE = {"block_out_channels": (32, 64), "layers_per_block": 2, "sample_size": 32}
TINY_TEXT = {
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 77,
    "projection_dim": 32,
}
