"""Attention processors: closed-form guidance maths, record/replay, legacy alternation, spans, batching."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from lcad_bench.lcad.attention import (
    SpanError,
    install_processors,
    instance_guidance_edit,
    instance_spans_from_prompt,
    validate_spans,
)


def _official_bce_loss(sim, heads, hw, spans, masks):
    h, w = hw
    s4 = sim.permute(0, 2, 1).reshape(sim.shape[0], sim.shape[2], h, w)
    loss = 0
    for k, (s, e) in enumerate(spans):
        p = torch.sigmoid(s4[heads:, s:e])
        loss = loss + F.binary_cross_entropy(p, masks[k][None, None].expand_as(p))
    return loss


@pytest.mark.parametrize("hw", [(4, 4), (8, 6)])
def test_closed_form_edit_equals_autograd(hw):
    g = torch.Generator().manual_seed(0)
    heads, tokens = 8, 77
    sim = (
        torch.randn(2 * heads, hw[0] * hw[1], tokens, generator=g, dtype=torch.float64) * 3
    ).requires_grad_(True)
    spans = [(1, 4), (5, 8), (9, 12)]
    masks = (torch.rand(3, *hw, generator=g, dtype=torch.float64) > 0.5).double()
    loss = _official_bce_loss(sim, heads, hw, spans, masks)
    (grad,) = torch.autograd.grad(loss, sim)
    for step in (1.0, 37.5):
        edited = instance_guidance_edit(
            sim.detach(), batch=1, heads=heads, hw=hw, spans=[spans], masks=[masks], step_size=step
        )
        want = sim.detach() - step * grad
        assert float((edited - want).abs().max()) <= 1e-9 * max(1.0, step)
    # 'sum' reduction = the gradient of the summed BCE (no mean denominator)
    loss_sum = 0
    s4 = sim.permute(0, 2, 1).reshape(2 * heads, tokens, *hw)
    for k, (s, e) in enumerate(spans):
        p = torch.sigmoid(s4[heads:, s:e])
        loss_sum = loss_sum + F.binary_cross_entropy(
            p, masks[k][None, None].expand_as(p), reduction="sum"
        )
    (grad_sum,) = torch.autograd.grad(loss_sum, sim)
    edited = instance_guidance_edit(
        sim.detach(), batch=1, heads=heads, hw=hw, spans=[spans], masks=[masks], reduction="sum"
    )
    assert float((edited - (sim.detach() - grad_sum)).abs().max()) <= 1e-9
    # uncond rows and columns outside the spans are untouched; the bound of §2.4 holds
    assert torch.equal(edited[:heads], sim.detach()[:heads])
    edited_mean = instance_guidance_edit(
        sim.detach(), batch=1, heads=heads, hw=hw, spans=[spans], masks=[masks]
    )
    assert torch.equal(edited_mean[:, :, 12:], sim.detach()[:, :, 12:])
    assert float((edited_mean - sim.detach()).abs().max()) <= 1 / (heads * 3 * hw[0] * hw[1])


def test_closed_form_batch2_equals_two_batch1():
    g = torch.Generator().manual_seed(1)
    heads, hw = 2, (4, 4)
    sims = [torch.randn(2 * heads, 16, 77, generator=g) for _ in range(2)]
    spans = [[(1, 3), (4, 6)], [(1, 5)]]
    masks = [torch.rand(2, 4, 4, generator=g), torch.rand(1, 4, 4, generator=g)]
    singles = [
        instance_guidance_edit(
            sims[b], batch=1, heads=heads, hw=hw, spans=[spans[b]], masks=[masks[b]]
        )
        for b in range(2)
    ]
    # batch-2 row order: [uncond0, uncond1, cond0, cond1] x heads
    sim2 = torch.cat([sims[0][:heads], sims[1][:heads], sims[0][heads:], sims[1][heads:]])
    both = instance_guidance_edit(sim2, batch=2, heads=heads, hw=hw, spans=spans, masks=masks)
    want = torch.cat(
        [singles[0][:heads], singles[1][:heads], singles[0][heads:], singles[1][heads:]]
    )
    assert torch.equal(both, want)


def _unet_inputs(pipe, batch=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2 * batch, 4, 16, 16, generator=g)
    gray = torch.randn(2 * batch, 64, 16, 16, generator=g)
    ctx = torch.randn(2 * batch, 77, 32, generator=g)
    return x, gray, ctx


def test_record_then_replay_equals_plain_pass(tiny_pipe):
    pipe = copy.copy(tiny_pipe)
    pipe.unet = copy.deepcopy(tiny_pipe.unet)
    ctl = install_processors(pipe.unet)
    pipe.controller = ctl
    x, gray, ctx = _unet_inputs(pipe)
    with torch.no_grad():
        ctl.use_sdpa = False
        ctl.set_mode("plain")
        plain = pipe.unet_eps(x, 981, ctx, gray)
        ctl.set_mode("record")
        recorded = pipe.unet_eps(x, 981, ctx, gray)
        assert (
            len(ctl.store) == 2 * 11
        )  # tiny: 4 + 1 + 6 transformer blocks x (attn1, attn2); 32 at full size
        ctl.set_mode("replay")
        replayed = pipe.unet_eps(x, 981, ctx, gray)
        assert not ctl.store
        ctl.use_sdpa = True
        ctl.set_mode("plain")
        sdpa = pipe.unet_eps(x, 981, ctx, gray)
    assert torch.equal(recorded, plain)
    assert torch.equal(replayed, plain)
    assert float((sdpa - plain).abs().max()) < 1e-5
    with pytest.raises(RuntimeError, match="no logits were recorded"), torch.no_grad():
        ctl.set_mode("replay")
        pipe.unet_eps(x, 981, ctx, gray)


def test_legacy_alternating_matches_official_cache(converted_tiny):
    ref, _sd, _res, pipe, _text = converted_tiny
    unet_ref = ref.model.diffusion_model
    x1, gray, ctx = _unet_inputs(pipe, seed=1)
    x2 = torch.randn_like(x1)
    pipe = copy.copy(pipe)
    pipe.unet = copy.deepcopy(pipe.unet)
    pipe.controller = install_processors(pipe.unet)
    pipe.controller.legacy_alternating = True
    for a in unet_ref.cross_attentions():
        a.use_cache, a.sim = True, None
    try:
        with torch.no_grad():
            want = [
                unet_ref(x, torch.full((2,), t), ctx, gray)
                for x, t in ((x1, 981), (x2, 961), (x1, 941))
            ]
            got = [pipe.unet_eps(x, t, ctx, gray) for x, t in ((x1, 981), (x2, 961), (x1, 941))]
            for a in unet_ref.cross_attentions():
                a.use_cache, a.sim = False, None
            standard2 = unet_ref(x2, torch.full((2,), 961), ctx, gray)
    finally:
        for a in unet_ref.cross_attentions():
            a.use_cache, a.sim = False, None
    for g, w in zip(got, want):
        assert float((g - w).abs().max()) <= 1e-5
    assert float((want[1] - standard2).abs().max()) > 1e-3  # the quirk is real


def test_instance_step_matches_official_autograd(converted_tiny, reference):
    """A full two-pass instance step (closed form, processors) equals the official autograd procedure."""
    from lcad_bench.lcad.attention import cross_attention_names, resize_masks

    ref, _sd, _res, pipe, _text = converted_tiny
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 4, 16, 16, generator=g)
    gray = torch.randn(1, 64, 16, 16, generator=g)
    uc, c = torch.randn(1, 77, 32, generator=g), torch.randn(1, 77, 32, generator=g)
    masks = resize_masks((torch.rand(2, 32, 32, generator=g) > 0.5).float(), (32, 32))
    spans = [(1, 3), (4, 7)]
    step = 2000.0  # large enough that the edit visibly changes eps
    eps_u, eps_c = reference.official_instance_eps(
        ref.model.diffusion_model, x, torch.tensor([981]), uc, c, gray, masks[None], spans, step
    )
    p = copy.copy(pipe)
    p.unet = copy.deepcopy(pipe.unet)
    ctl = install_processors(p.unet)
    p.controller = ctl
    heads = {n: 2 for n in cross_attention_names(p.unet)}
    with torch.no_grad():
        x_in, g_in, ctx = torch.cat([x, x]), torch.cat([gray, gray]), torch.cat([uc, c])
        ctl.set_mode("plain")
        plain = p.unet_eps(x_in, 981, ctx, g_in)
        ctl.set_mode("record")
        p.unet_eps(x_in, 981, ctx, g_in)
        for name in heads:
            hw = ctl.layer_hw(name)
            m = F.interpolate(masks[None], size=hw, mode="nearest")[0]
            ctl.store[name] = instance_guidance_edit(
                ctl.store[name], batch=1, heads=2, hw=hw, spans=[spans], masks=[m], step_size=step
            )
        ctl.set_mode("replay")
        eps = p.unet_eps(x_in, 981, ctx, g_in)
    want = torch.cat([eps_u, eps_c])
    assert float((eps - want).abs().max()) <= 1e-5
    assert float((plain - want).abs().max()) > 1e-4  # the edit had an effect


def test_spans_from_prompt(tiny_tokenizer):
    assert instance_spans_from_prompt(tiny_tokenizer, "the red cup, the red cup, the red cup") == [
        (1, 4),
        (5, 8),
        (9, 12),
    ]
    assert instance_spans_from_prompt(tiny_tokenizer, "the blue cup") == [
        (1, 7)
    ]  # the, b, l, u, e, cup
    with pytest.raises(SpanError, match="trailing comma"):
        instance_spans_from_prompt(tiny_tokenizer, "the red cup, the cup,")
    with pytest.raises(SpanError, match="phrase 0 .* is empty"):
        instance_spans_from_prompt(tiny_tokenizer, ", the cup")
    with pytest.raises(SpanError, match="76 tokens but CLIP keeps at most 75"):
        instance_spans_from_prompt(tiny_tokenizer, "x " * 76)
    assert instance_spans_from_prompt(tiny_tokenizer, "x " * 75)[-1] == (1, 76)
    with pytest.raises(SpanError, match="2 phrase span"):
        validate_spans([(1, 3), (4, 6)], 3)
    with pytest.raises(SpanError, match="empty"):
        validate_spans([(3, 3)], 1)
    with pytest.raises(SpanError, match="outside"):
        validate_spans([(0, 3)], 1)
    assert validate_spans([[1, 3]], 1) == [(1, 3)]


def test_layer_sizes_follow_blocks(tiny_pipe):
    ctl = copy.copy(tiny_pipe.controller)
    ctl.latent_hw = (16, 12)
    assert ctl.layer_hw("down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor") == (
        16,
        12,
    )
    assert ctl.layer_hw("down_blocks.1.attentions.1.transformer_blocks.0.attn2.processor") == (8, 6)
    assert ctl.layer_hw("mid_block.attentions.0.transformer_blocks.0.attn2.processor") == (4, 3)
    assert ctl.layer_hw("up_blocks.1.attentions.0.transformer_blocks.0.attn1.processor") == (8, 6)
    assert ctl.layer_hw("up_blocks.2.attentions.2.transformer_blocks.0.attn2.processor") == (16, 12)
