"""The L-CAD luminance encoder (official ``Gray_Encoder``; docs/lcad.md#conversion).

Architecturally the SD VAE encoder without ``norm_out``/``conv_out``, plus ten 1x1 "zero"
convolutions that tap every encoder resnet output (before the level's downsample) and both
mid-block resnets. ``forward`` returns the ten taps f0..f9; f9 (at latent resolution) is the gray
feature map concatenated to the UNet input, and all ten feed the luminance-guided decoder.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.unets.unet_2d_blocks import DownEncoderBlock2D, UNetMidBlock2D
from torch import nn


class LuminanceEncoder(ModelMixin, ConfigMixin):
    """Luminance encoder returning the 10 feature maps f0..f9 (official order).

    Args:
        in_channels: channels of the hint (3: the L hint repeated).
        block_out_channels: channels per level (official ``ch * ch_mult``).
        layers_per_block: resnets per level (official ``num_res_blocks``).
        norm_num_groups: GroupNorm groups (eps is 1e-6 as in the ldm VAE).
        zero_init: zero-initialise the tap convolutions (the official init).
    """

    _supports_gradient_checkpointing = False

    @register_to_config
    def __init__(
        self,
        in_channels: int = 3,
        block_out_channels: tuple[int, ...] = (128, 256, 512, 512),
        layers_per_block: int = 2,
        norm_num_groups: int = 32,
        zero_init: bool = True,
    ) -> None:
        super().__init__()
        chans = list(block_out_channels)
        self.conv_in = nn.Conv2d(in_channels, chans[0], kernel_size=3, stride=1, padding=1)
        self.down_blocks = nn.ModuleList()
        taps: list[nn.Conv2d] = []
        prev = chans[0]
        for i, out in enumerate(chans):
            self.down_blocks.append(
                DownEncoderBlock2D(
                    in_channels=prev,
                    out_channels=out,
                    num_layers=layers_per_block,
                    resnet_eps=1e-6,
                    resnet_groups=norm_num_groups,
                    add_downsample=i < len(chans) - 1,
                    downsample_padding=0,  # the official asymmetric (0,1,0,1) pad
                )
            )
            taps.extend(nn.Conv2d(out, out, kernel_size=1) for _ in range(layers_per_block))
            prev = out
        self.down_zero_convs = nn.ModuleList(taps)
        self.mid_block = UNetMidBlock2D(
            in_channels=chans[-1],
            temb_channels=None,
            resnet_eps=1e-6,
            resnet_groups=norm_num_groups,
            attention_head_dim=chans[-1],
            add_attention=True,
            resnet_time_scale_shift="default",
        )
        self.mid_zero_convs = nn.ModuleList(
            nn.Conv2d(chans[-1], chans[-1], kernel_size=1) for _ in range(2)
        )
        if zero_init:
            for conv in [*self.down_zero_convs, *self.mid_zero_convs]:
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)

    @property
    def out_channels_last(self) -> int:
        """Channels of f9, which must equal the UNet's gray channels (``in_channels - 4``)."""
        return int(self.config.block_out_channels[-1])

    @property
    def num_features(self) -> int:
        """Number of returned taps: ``levels * layers_per_block + 2`` (10 at full size)."""
        return len(self.config.block_out_channels) * int(self.config.layers_per_block) + 2

    def forward(self, hint: torch.Tensor) -> list[torch.Tensor]:
        """Return the taps ``[f0, ..., f9]`` for a hint ``[B,3,H,W]`` (H, W multiples of 8)."""
        feats: list[torch.Tensor] = []
        h = self.conv_in(hint)
        r = int(self.config.layers_per_block)
        for i, block in enumerate(self.down_blocks):
            for j, resnet in enumerate(block.resnets):
                h = resnet(h, None)
                feats.append(self.down_zero_convs[r * i + j](h))
            if block.downsamplers is not None:
                for down in block.downsamplers:
                    h = down(h)
        mid = self.mid_block
        h = mid.resnets[0](h, None)
        feats.append(self.mid_zero_convs[0](h))
        h = mid.attentions[0](h)
        h = mid.resnets[1](h, None)
        feats.append(self.mid_zero_convs[1](h))
        return feats
