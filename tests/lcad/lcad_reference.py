"""An independent official-layout reference of L-CAD, written from docs (lcad-model.md), for tests only.

Module and parameter names follow the official ldm/cldm code so that ``state_dict()`` yields the
official checkpoint keys (``model.diffusion_model.*``, ``first_stage_model.{encoder,decoder,
g_encoder}.*``); the forward passes implement the semantics of §1.2 (Gray_Encoder taps), §1.4
(CatUNetModel), §1.6 (EhDecoder, which pops from and mutates the feature list) and §1.5 (ldm DDIM
with float64-derived schedule). Nothing here imports lcad_bench.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ============================================================================ ldm VAE side (model.py)


def Normalize(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, c, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm1 = Normalize(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.norm2 = Normalize(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1, 1, 0)
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        if self.in_channels != self.out_channels:
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.norm = Normalize(c)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        h_ = self.norm(x)
        q, k, v = self.q(h_), self.k(h_), self.v(h_)
        b, c, h, w = q.shape
        q = q.reshape(b, c, h * w).permute(0, 2, 1)
        k = k.reshape(b, c, h * w)
        w_ = torch.bmm(q, k) * (int(c) ** (-0.5))
        w_ = F.softmax(w_, dim=2)
        v = v.reshape(b, c, h * w)
        h_ = torch.bmm(v, w_.permute(0, 2, 1)).reshape(b, c, h, w)
        return x + self.proj_out(h_)


class Downsample(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0))


class Upsample(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    """ldm VAE encoder (double_z)."""

    def __init__(
        self, ch: int, ch_mult, num_res_blocks: int, in_channels: int = 3, z_channels: int = 4
    ) -> None:
        super().__init__()
        self.num_resolutions = len(ch_mult)
        self.num_res_blocks = num_res_blocks
        self.conv_in = nn.Conv2d(in_channels, ch, 3, 1, 1)
        in_ch_mult = (1, *tuple(ch_mult))
        self.down = nn.ModuleList()
        block_in = ch
        for i_level in range(self.num_resolutions):
            block = nn.ModuleList()
            block_in = ch * in_ch_mult[i_level]
            block_out = ch * ch_mult[i_level]
            for _ in range(num_res_blocks):
                block.append(ResnetBlock(block_in, block_out))
                block_in = block_out
            down = nn.Module()
            down.block = block
            down.attn = nn.ModuleList()
            if i_level != self.num_resolutions - 1:
                down.downsample = Downsample(block_in)
            self.down.append(down)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in)
        self.mid.attn_1 = AttnBlock(block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in)
        self.norm_out = Normalize(block_in)
        self.conv_out = nn.Conv2d(block_in, 2 * z_channels, 3, 1, 1)

    def forward(self, x):
        h = self.conv_in(x)
        for i_level in range(self.num_resolutions):
            for i_block in range(self.num_res_blocks):
                h = self.down[i_level].block[i_block](h)
            if i_level != self.num_resolutions - 1:
                h = self.down[i_level].downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h)))


class Gray_Encoder(Encoder):
    """Encoder + zero convs; forward returns the list of 10 taps (norm_out/conv_out unused)."""

    def __init__(
        self, ch: int, ch_mult, num_res_blocks: int, in_channels: int = 3, z_channels: int = 4
    ) -> None:
        super().__init__(ch, ch_mult, num_res_blocks, in_channels, z_channels)
        for i_level, down in enumerate(self.down):
            c = ch * ch_mult[i_level]
            down.zero_conv = nn.ModuleList([nn.Conv2d(c, c, 1) for _ in range(num_res_blocks)])
        c = ch * ch_mult[-1]
        self.zero_conv_mid1 = nn.Conv2d(c, c, 1)
        self.zero_conv_mid2 = nn.Conv2d(c, c, 1)

    def forward(self, x):
        outs = []
        h = self.conv_in(x)
        for i_level in range(self.num_resolutions):
            for i_block in range(self.num_res_blocks):
                h = self.down[i_level].block[i_block](h)
                outs.append(self.down[i_level].zero_conv[i_block](h))
            if i_level != self.num_resolutions - 1:
                h = self.down[i_level].downsample(h)
        h = self.mid.block_1(h)
        outs.append(self.zero_conv_mid1(h))
        h = self.mid.attn_1(h)
        h = self.mid.block_2(h)
        outs.append(self.zero_conv_mid2(h))
        return outs


class EhDecoder(nn.Module):
    """ldm Decoder whose forward adds gray features popped from the caller's list (in place)."""

    def __init__(
        self, ch: int, ch_mult, num_res_blocks: int, out_ch: int = 3, z_channels: int = 4
    ) -> None:
        super().__init__()
        self.num_resolutions = len(ch_mult)
        self.num_res_blocks = num_res_blocks
        block_in = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z_channels, block_in, 3, 1, 1)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in)
        self.mid.attn_1 = AttnBlock(block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in)
        self.up = nn.ModuleList()
        for i_level in reversed(range(self.num_resolutions)):
            block = nn.ModuleList()
            block_out = ch * ch_mult[i_level]
            for _ in range(num_res_blocks + 1):
                block.append(ResnetBlock(block_in, block_out))
                block_in = block_out
            up = nn.Module()
            up.block = block
            up.attn = nn.ModuleList()
            if i_level != 0:
                up.upsample = Upsample(block_in)
            self.up.insert(0, up)
        self.norm_out = Normalize(block_in)
        self.conv_out = nn.Conv2d(block_in, out_ch, 3, 1, 1)

    def forward(self, z, gray_z: list):
        h = self.conv_in(z)
        h = self.mid.block_1(h)
        h += gray_z.pop()
        h = self.mid.attn_1(h)
        h = self.mid.block_2(h)
        h += gray_z.pop()
        for i_level in reversed(range(self.num_resolutions)):
            for i_block in range(self.num_res_blocks + 1):
                h = self.up[i_level].block[i_block](h)
                if i_block < self.num_res_blocks:
                    h += gray_z.pop()
            if i_level != 0:
                h = self.up[i_level].upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class FirstStage(nn.Module):
    """AutoencoderKL_enhanceD: encoder, decoder (EhDecoder), g_encoder, quant convs."""

    def __init__(self, ch: int, ch_mult, num_res_blocks: int) -> None:
        super().__init__()
        self.encoder = Encoder(ch, ch_mult, num_res_blocks)
        self.decoder = EhDecoder(ch, ch_mult, num_res_blocks)
        self.g_encoder = Gray_Encoder(ch, ch_mult, num_res_blocks)
        self.quant_conv = nn.Conv2d(8, 8, 1)
        self.post_quant_conv = nn.Conv2d(4, 4, 1)

    def decode(self, z, gray_z):
        return self.decoder(self.post_quant_conv(z), gray_z)


# ============================================================================ CatUNetModel (openaimodel.py)


def timestep_embedding(t, dim: int):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def GN(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, c)


class ResBlock(nn.Module):
    def __init__(self, ch: int, emb_ch: int, out_ch: int) -> None:
        super().__init__()
        self.in_layers = nn.Sequential(GN(ch), nn.SiLU(), nn.Conv2d(ch, out_ch, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_ch, out_ch))
        self.out_layers = nn.Sequential(
            GN(out_ch), nn.SiLU(), nn.Dropout(0.0), nn.Conv2d(out_ch, out_ch, 3, padding=1)
        )
        self.skip_connection = nn.Identity() if out_ch == ch else nn.Conv2d(ch, out_ch, 1)

    def forward(self, x, emb):
        h = self.in_layers(x)
        h = h + self.emb_layers(emb)[..., None, None]
        return self.skip_connection(x) + self.out_layers(h)


class CrossAttention(nn.Module):
    """ldm CrossAttention with the HEAD logit cache (``self.sim``), see §1.8."""

    def __init__(self, query_dim: int, context_dim: int | None, heads: int, dim_head: int) -> None:
        super().__init__()
        inner = heads * dim_head
        context_dim = context_dim or query_dim
        self.scale = dim_head**-0.5
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim), nn.Dropout(0.0))
        self.sim = None
        self.use_cache = False  # True = HEAD behaviour (record on one call, replay on the next)

    def forward(self, x, context=None):
        h = self.heads
        context = x if context is None else context
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(context)
        b, n, _ = q.shape

        def split(t):
            return (
                t.reshape(t.shape[0], t.shape[1], h, -1)
                .permute(0, 2, 1, 3)
                .reshape(t.shape[0] * h, t.shape[1], -1)
            )

        q, k, v = split(q), split(k), split(v)
        if self.use_cache and self.sim is not None:
            sim = self.sim
            self.sim = None
        else:
            sim = torch.einsum("bid,bjd->bij", q, k) * self.scale
            if self.use_cache:
                self.sim = sim
        attn = sim.softmax(dim=-1)
        out = torch.einsum("bij,bjd->bid", attn, v)
        out = out.reshape(b, h, n, -1).permute(0, 2, 1, 3).reshape(b, n, -1)
        return self.to_out(out)


class GEGLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x):
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, dim * 4), nn.Dropout(0.0), nn.Linear(dim * 4, dim))

    def forward(self, x):
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int, context_dim: int) -> None:
        super().__init__()
        self.attn1 = CrossAttention(dim, None, heads, dim_head)
        self.ff = FeedForward(dim)
        self.attn2 = CrossAttention(dim, context_dim, heads, dim_head)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class SpatialTransformer(nn.Module):
    def __init__(self, ch: int, heads: int, dim_head: int, context_dim: int) -> None:
        super().__init__()
        inner = heads * dim_head
        self.norm = nn.GroupNorm(32, ch, eps=1e-6)
        self.proj_in = nn.Conv2d(ch, inner, 1)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner, heads, dim_head, context_dim)]
        )
        self.proj_out = nn.Conv2d(inner, ch, 1)

    def forward(self, x, context):
        b, _c, h, w = x.shape
        x_in = x
        x = self.proj_in(self.norm(x))
        x = x.permute(0, 2, 3, 1).reshape(b, h * w, -1)
        for blk in self.transformer_blocks:
            x = blk(x, context)
        x = x.reshape(b, h, w, -1).permute(0, 3, 1, 2)
        return self.proj_out(x) + x_in


class TDownsample(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class TUpsample(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class TimestepEmbedSequential(nn.Sequential):
    def forward(self, x, emb, context):
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context)
            else:
                x = layer(x)
        return x


class CatUNetModel(nn.Module):
    """SD UNet whose first conv takes ``cat([x, control])`` (4 + gray_channels)."""

    def __init__(
        self,
        in_channels: int,
        gray_channels: int,
        model_channels: int,
        out_channels: int,
        num_res_blocks: int,
        attention_resolutions,
        channel_mult,
        num_heads: int,
        context_dim: int,
    ) -> None:
        super().__init__()
        self.model_channels = model_channels
        ted = model_channels * 4
        self.time_embed = nn.Sequential(
            nn.Linear(model_channels, ted), nn.SiLU(), nn.Linear(ted, ted)
        )
        self.input_blocks = nn.ModuleList(
            [
                TimestepEmbedSequential(
                    nn.Conv2d(in_channels + gray_channels, model_channels, 3, padding=1)
                )
            ]
        )
        chans = [model_channels]
        ch, ds = model_channels, 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers: list[nn.Module] = [ResBlock(ch, ted, mult * model_channels)]
                ch = mult * model_channels
                if ds in attention_resolutions:
                    layers.append(SpatialTransformer(ch, num_heads, ch // num_heads, context_dim))
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                chans.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(TimestepEmbedSequential(TDownsample(ch)))
                chans.append(ch)
                ds *= 2
        self.middle_block = TimestepEmbedSequential(
            ResBlock(ch, ted, ch),
            SpatialTransformer(ch, num_heads, ch // num_heads, context_dim),
            ResBlock(ch, ted, ch),
        )
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                ich = chans.pop()
                layers = [ResBlock(ch + ich, ted, model_channels * mult)]
                ch = model_channels * mult
                if ds in attention_resolutions:
                    layers.append(SpatialTransformer(ch, num_heads, ch // num_heads, context_dim))
                if level and i == num_res_blocks:
                    layers.append(TUpsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))
        self.out = nn.Sequential(
            GN(ch), nn.SiLU(), nn.Conv2d(model_channels, out_channels, 3, padding=1)
        )

    def forward(self, x, timesteps, context, control):
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels).to(x.dtype))
        h = torch.cat([x, control], dim=1)
        hs = []
        for module in self.input_blocks:
            h = module(h, emb, context)
            hs.append(h)
        h = self.middle_block(h, emb, context)
        for module in self.output_blocks:
            h = module(torch.cat([h, hs.pop()], dim=1), emb, context)
        return self.out(h)

    def cross_attentions(self) -> list[CrossAttention]:
        return [m for m in self.modules() if isinstance(m, CrossAttention)]


# ============================================================================ ControlLDM_cat + DDIM


def ldm_schedule() -> dict[str, torch.Tensor]:
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2
    alphas = 1.0 - betas
    ac = np.cumprod(alphas)
    ac_prev = np.append(1.0, ac[:-1])
    buffers = {
        "betas": betas,
        "alphas_cumprod": ac,
        "alphas_cumprod_prev": ac_prev,
        "sqrt_alphas_cumprod": np.sqrt(ac),
        "sqrt_one_minus_alphas_cumprod": np.sqrt(1 - ac),
        "log_one_minus_alphas_cumprod": np.log(1 - ac),
        "sqrt_recip_alphas_cumprod": np.sqrt(1 / ac),
        "sqrt_recipm1_alphas_cumprod": np.sqrt(1 / ac - 1),
        "posterior_variance": betas * (1 - ac_prev) / (1 - ac),
        "posterior_log_variance_clipped": np.log(
            np.maximum(betas * (1 - ac_prev) / (1 - ac), 1e-20)
        ),
        "posterior_mean_coef1": betas * np.sqrt(ac_prev) / (1 - ac),
        "posterior_mean_coef2": (1 - ac_prev) * np.sqrt(alphas) / (1 - ac),
        "logvar": np.zeros(1000),
    }
    return {k: torch.tensor(v, dtype=torch.float32) for k, v in buffers.items()}


def ldm_ddim_timesteps(steps: int) -> np.ndarray:
    """ldm ``make_ddim_timesteps(discr="uniform")``: ascending ``range(0, 1000, 1000 // S) + 1``."""
    c = 1000 // steps
    return np.asarray(list(range(0, 1000, c))) + 1


class ControlLDMCat(nn.Module):
    """The checkpoint-level container: ``model.diffusion_model``, ``first_stage_model``, buffers."""

    def __init__(self, unet: CatUNetModel, first_stage: FirstStage) -> None:
        super().__init__()
        self.model = nn.Module()
        self.model.diffusion_model = unet
        self.first_stage_model = first_stage
        for k, v in ldm_schedule().items():
            self.register_buffer(k, v)

    @torch.no_grad()
    def apply_model(self, x, t, c_crossattn, c_concat):
        f9 = self.first_stage_model.g_encoder(c_concat)[-1]  # recomputed at every call
        return self.model.diffusion_model(x, t, c_crossattn, f9)

    @torch.no_grad()
    def ddim_sample(self, x_T, steps: int, cond, uncond, hint, scale: float, timesteps=None):
        """ldm DDIMSampler, uniform, eta 0, batched CFG [uncond, cond], same hint for both.

        ``timesteps`` (ascending) overrides ldm's ``range(0, 1000, 1000 // S) + 1``, which for
        S = 3 yields four steps ending at 1000 and an index error in ldm itself.
        """
        ts = ldm_ddim_timesteps(steps) if timesteps is None else np.asarray(timesteps)
        ac = torch.tensor(
            np.cumprod(1.0 - ldm_schedule()["betas"].double().numpy()), dtype=torch.float64
        )
        alphas = ac[ts].float()
        alphas_prev = torch.tensor(
            [ac[0].item(), *ac[ts[:-1]].tolist()], dtype=torch.float64
        ).float()
        x = x_T.clone()
        b = x.shape[0]
        for i in reversed(range(len(ts))):
            t = torch.full((b,), int(ts[i]), dtype=torch.long)
            x_in, t_in = torch.cat([x, x]), torch.cat([t, t])
            eps_u, eps_c = self.apply_model(
                x_in, t_in, torch.cat([uncond, cond]), torch.cat([hint, hint])
            ).chunk(2)
            eps = eps_u + scale * (eps_c - eps_u)
            a_t, a_prev = alphas[i], alphas_prev[i]
            x0 = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
            x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
        return x

    @torch.no_grad()
    def decode_first_stage(self, z, hint):
        gray_z = self.first_stage_model.g_encoder(hint)
        return self.first_stage_model.decode(z / 0.18215, gray_z)


# ============================================================================ helpers


def tiny_official(seed: int = 0) -> ControlLDMCat:
    """The tiny configuration of lcad-model.md §6.6, every parameter randomised."""
    torch.manual_seed(seed)
    unet = CatUNetModel(
        in_channels=4,
        gray_channels=64,
        model_channels=32,
        out_channels=4,
        num_res_blocks=2,
        attention_resolutions=[1, 2],
        channel_mult=[1, 2, 2],
        num_heads=2,
        context_dim=32,
    )
    first = FirstStage(ch=32, ch_mult=[1, 2], num_res_blocks=2)
    model = ControlLDMCat(unet, first)
    randomize_(model, seed)
    return model.eval()


def randomize_(module: nn.Module, seed: int = 0, std: float = 0.05) -> nn.Module:
    """Every parameter ~ N(0, std); norm weights ~ 1 + N(0, std) (the official init zeroes many layers)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g) * std
            is_norm_weight = name.endswith("weight") and p.ndim == 1
            p.copy_(noise + 1.0 if is_norm_weight else noise)
    return module


def official_state_dict(
    model: ControlLDMCat, clip_state: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The full official checkpoint dict: model + first stage + buffers + CLIP in transformers-4 layout."""
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    for k, v in clip_state.items():
        key = k if k.startswith("text_model.") else f"text_model.{k}"
        sd[f"cond_stage_model.transformer.{key}"] = v.clone()
    n_pos = next(
        v.shape[0] for k, v in clip_state.items() if k.endswith("position_embedding.weight")
    )
    sd["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(n_pos)[
        None
    ]
    return sd


def official_instance_eps(unet: CatUNetModel, x, t, uc, c, gray, masks, spans, step: float = 1.0):
    """One official instance-aware UNet evaluation for B = 1 (§2.3), with autograd as in ldm.

    Pass 1 records every CrossAttention's logits (with graph); for each attn2 the BCE loss of
    sigmoid(cond-head logits) over each span against the nearest-resized mask is differentiated
    with ``torch.autograd.grad`` and the logits are replaced by ``S - step * grad``; pass 2 replays
    all logits. Returns the two halves ``(eps_u, eps_c)`` of pass 2.
    """
    attns = unet.cross_attentions()
    for a in attns:
        a.use_cache, a.sim = True, None
    heads = attns[0].heads
    x_in = torch.cat([x, x]).detach().clone().requires_grad_(True)
    t_in = torch.cat([t, t])
    ctx = torch.cat([uc, c])
    g_in = torch.cat([gray, gray])
    with torch.enable_grad():
        unet(x_in, t_in, ctx, g_in)
        for name, a in unet.named_modules():
            if isinstance(a, CrossAttention) and "attn2" in name:
                sim = a.sim
                hw = sim.shape[1]
                side = math.isqrt(hw)
                ref = F.interpolate(masks, (side, side))
                s4 = sim.permute(0, 2, 1).reshape(sim.shape[0], sim.shape[2], side, side)
                loss = 0
                for k, (s0, e0) in enumerate(spans):
                    p = torch.sigmoid(s4[heads:, s0:e0])
                    loss = loss + F.binary_cross_entropy(p, ref[:, k : k + 1].expand_as(p))
                grad = torch.autograd.grad(loss, sim)[0]
                a.sim = (sim - step * grad).detach()
    with torch.no_grad():
        eps = unet(x_in.detach(), t_in, ctx, g_in)
    for a in attns:
        a.use_cache, a.sim = False, None
    return eps.chunk(2)
