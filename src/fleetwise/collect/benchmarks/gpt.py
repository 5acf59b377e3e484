"""A small GPT-style decoder for the training-step and inference benchmarks.

Pre-LayerNorm blocks of causal self-attention (``scaled_dot_product_attention``, so the
fused flash / memory-efficient kernels run where the platform has them) and a 4x GELU
MLP, learned positional embeddings, and an LM head tied to the token embedding, as in
GPT-2. The model is a load generator, not a language model: it is trained on random
tokens and its loss is never looked at.

Importing this module imports torch; ``compute.py`` imports it only inside ``setup()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional name
from torch import nn


@dataclass(frozen=True)
class GPTConfig:
    layers: int
    d_model: int
    heads: int
    seq_len: int
    vocab: int


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out: torch.Tensor = self.proj(y.transpose(1, 2).reshape(b, t, d))
        return out


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.fc = nn.Linear(cfg.d_model, 4 * cfg.d_model)
        self.out = nn.Linear(4 * cfg.d_model, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        out: torch.Tensor = x + self.out(F.gelu(self.fc(self.ln2(x))))
        return out


class TinyGPT(nn.Module):
    """Decoder-only transformer; ``forward(tokens[B, T]) -> logits[B, T, vocab]``."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        if cfg.d_model % cfg.heads:
            raise ValueError(f"d_model {cfg.d_model} is not divisible by heads {cfg.heads}")
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab, cfg.d_model)
        self.pos = nn.Embedding(cfg.seq_len, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        # GPT-2's initialisation keeps activations in range, so bf16 autocast behaves
        # like a real training run rather than overflowing on random weights.
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.tok(tokens) + self.pos(positions)
        for block in self.blocks:
            x = block(x)
        # Tied LM head: the output projection reuses the token embedding matrix.
        return F.linear(self.ln_f(x), self.tok.weight)


def count_params(model: TinyGPT) -> int:
    """All parameters (the tied embedding counted once)."""
    return sum(p.numel() for p in model.parameters())


def matmul_params(model: TinyGPT) -> int:
    """Parameters that take part in a matmul per token: all but the positional table.

    This is the N of the MFU's ``6 N`` (as nanoGPT's ``estimate_mfu`` counts it): the
    tied token embedding stays in because it is the LM head's weight matrix (2 FLOP
    per weight per token forward, like any linear layer); the positional embedding is
    a table lookup and does no multiply-adds.
    """
    return count_params(model) - model.pos.weight.numel()


def attention_flops_per_token(cfg: GPTConfig) -> int:
    """PaLM appendix B's attention term ``12 L H Q T`` (H heads x Q head size = d_model),
    the score and value matmuls that ``6 N`` leaves out (forward + backward)."""
    return 12 * cfg.layers * cfg.d_model * cfg.seq_len


def build_model(cfg: GPTConfig, device: str, seed: int) -> TinyGPT:
    torch.manual_seed(seed)
    return TinyGPT(cfg).to(device)


def train_step(
    model: TinyGPT, tokens: torch.Tensor, *, bf16: bool, compile: bool
) -> Callable[[], None]:
    """One full step on ``tokens[B, T+1]``: forward (bf16 autocast if asked),
    cross-entropy on the next token, backward, AdamW step, gradients released."""
    x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    forward: Callable[[torch.Tensor], torch.Tensor] = torch.compile(model) if compile else model
    device_type = tokens.device.type
    vocab = model.cfg.vocab

    def step() -> None:
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(forward(x).view(-1, vocab), y.view(-1))
        torch.autograd.backward(loss)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def forward_request(model: TinyGPT, tokens: torch.Tensor) -> Callable[[], None]:
    """One inference request: a forward pass in inference mode, finished on return."""
    model.eval()
    cuda = tokens.device.type == "cuda"

    def request() -> None:
        with torch.inference_mode():
            model(tokens)
        if cuda:
            # A request is done when its result is, not when its kernels are queued.
            torch.cuda.synchronize()

    return request
