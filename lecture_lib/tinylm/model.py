"""The tiny LM: a character-level, decoder-only transformer (GPT) with an incremental KV cache.

Architecture (each part notebook's "The tiny LM" section draws it):
    x_0 = E_tok[idx] + E_pos[position]
    x_{l+1} = x_l' + MLP(LN2(x_l')),  x_l' = x_l + Attn(LN1(x_l))        (pre-LayerNorm blocks)
    logits = W_head LN_f(x_L)                                             (untied head)
    Attn: q, k, v = split(W_qkv h); softmax(q k^T / sqrt(head_dim) + causal mask) v; W_o
    MLP:  W_2 GELU(W_1 h), hidden width 4 d

Made for the later parts: ``model.blocks`` is an ``nn.ModuleList`` (Part E wraps blocks in gradient
checkpointing), every projection is a plain ``nn.Linear`` (Part A replaces Linear weights by quantized
ones), the cache storage is pluggable (Part A's INT8/INT4/FP8 KV cache), and ``forward`` takes several
new tokens at once with a cache and the cache rolls back (Part B's speculative decoding).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .cache import KVCache, KVStorage
from .tokenizer import VOCAB_SIZE


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """Shape of a tiny LM. Saved as JSON in the checkpoint's safetensors metadata."""

    vocab_size: int = VOCAB_SIZE
    block_size: int = 128  # maximum context length (positions 0..block_size-1)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for f in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{f} must be a positive int; got {v!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd must be divisible by n_head; got n_embd={self.n_embd}, n_head={self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {self.dropout}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GPTConfig:
        return cls(**json.loads(text))


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention; with a storage, appends this call's K/V and attends to all stored."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.head_dim = cfg.n_embd // cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.dropout = cfg.dropout

    def forward(self, x: Tensor, storage: KVStorage | None = None, mask: Tensor | None = None) -> Tensor:
        # x: [b, t, d] (t new positions). mask (cached calls only): None, or the additive [t, past + t] mask
        # that TinyGPT.forward builds once per call (see _causal_mask).
        b, t, d = x.shape
        # one matmul for all three projections, then split the heads: [b, t, 3d] -> 3 x [b, n_head, t, head_dim]
        q, k, v = self.qkv(x).view(b, t, 3, self.n_head, self.head_dim).transpose(1, 3).unbind(2)
        drop = self.dropout if self.training else 0.0
        if storage is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=drop)  # [b, n_head, t, head_dim]
        else:
            storage.append(k, v)
            k_all, v_all = storage.keys_values()  # [b, n_head, past + t, head_dim]
            if k_all.dtype != q.dtype:
                k_all, v_all = k_all.to(q.dtype), v_all.to(q.dtype)
            if mask is None and t > 1 and k_all.shape[2] > t:  # called on its own: build the mask here
                mask = _causal_mask(t, k_all.shape[2] - t, q.dtype, x.device)
            if t == 1:  # one query sees every key: no mask
                y = F.scaled_dot_product_attention(q, k_all, v_all, dropout_p=drop)
            elif mask is None:  # past == 0 (prefill): the usual causal triangle
                y = F.scaled_dot_product_attention(q, k_all, v_all, is_causal=True, dropout_p=drop)
            else:  # query i sits at absolute position past+i and may see keys 0..past+i
                y = F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=mask, dropout_p=drop)
        y = y.transpose(1, 2).reshape(b, t, d)  # re-assemble the heads side by side: [b, t, d]
        return self.proj(y)  # [b, t, d]


def _causal_mask(t: int, past: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Additive attention mask ``[t, past + t]`` for t new queries after ``past`` cached positions:
    0 where query i (absolute position past + i) may see key j (j <= past + i), -inf elsewhere.

    SDPA turns a boolean mask into exactly this float mask on every call; building it once per forward
    (instead of once per layer) gives the same numbers with fewer operations. The mask is a slice of a stored
    ``[t, P + t]`` mask (P >= past; query i blocked from column P + i + 1 on): columns ``P - past`` onwards.
    """
    key = (t, dtype, device)
    base = _MASKS.get(key)
    if base is None or base.shape[1] - t < past:
        cap = max(past, 2 * (base.shape[1] - t) if base is not None else 128)
        blocked = torch.ones(t, cap + t, dtype=torch.bool, device=device).triu_(cap + 1)
        base = torch.zeros(t, cap + t, dtype=dtype, device=device).masked_fill_(blocked, float("-inf"))
        if len(_MASKS) >= 64:  # many shapes seen (e.g. prefill chunks): start over
            _MASKS.clear()
        _MASKS[key] = base
    return base[:, base.shape[1] - t - past:]


_MASKS: dict[tuple, Tensor] = {}  # (t, dtype, device) -> mask of the largest past seen, read only


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        self.act = nn.GELU()
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        # [b, t, d] -> [b, t, 4d] -> GELU -> [b, t, d]
        return self.drop(self.proj(self.act(self.fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + Attn(LN(x)), then + MLP(LN(.))."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = MLP(cfg)

    def forward(self, x: Tensor, storage: KVStorage | None = None, mask: Tensor | None = None) -> Tensor:
        x = x + self.attn(self.ln1(x), storage, mask)  # [b, t, d]
        return x + self.mlp(self.ln2(x))  # [b, t, d]


class TinyGPT(nn.Module):
    """Character-level GPT. ``model(idx, cache=None) -> logits [batch, t_new, vocab_size]``."""

    def __init__(self, cfg: GPTConfig, name: str = "custom") -> None:
        super().__init__()
        self.config = cfg
        self.name = name
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.apply(self._init_weights)
        for name_, p in self.named_parameters():  # GPT-2: scale residual projections by 1/sqrt(2 n_layer)
            if name_.endswith("attn.proj.weight") or name_.endswith("mlp.proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    @property
    def block_size(self) -> int:
        return self.config.block_size

    def num_params(self) -> int:
        """Number of parameters (same as ``num_params(model)``)."""
        return num_params(self)

    def param_bytes(self) -> int:
        """Bytes of the parameters in their current dtypes (same as ``param_bytes(model)``)."""
        return param_bytes(self)

    def new_cache(self, batch_size: int = 1, storage: Callable[[], KVStorage] | None = None) -> KVCache:
        """An empty cache for this model; ``storage``: None (float) or a factory of one storage per layer."""
        return KVCache(self.config.n_layer, batch_size, storage, block_size=self.config.block_size)

    def forward(self, idx: Tensor, cache: KVCache | None = None) -> Tensor:
        if not isinstance(idx, Tensor):
            raise TypeError(f"idx must be a LongTensor [batch, t_new]; got {type(idx).__name__}")
        if idx.ndim != 2 or idx.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"idx must be an integer tensor [batch, t_new]; got {idx.dtype} {tuple(idx.shape)}")
        b, t = idx.shape
        if t == 0:
            raise ValueError("idx must hold at least one token per row; got t_new = 0")
        past = 0
        if cache is not None:
            if not isinstance(cache, KVCache):
                raise TypeError(f"cache must be a KVCache from model.new_cache(); got {type(cache).__name__}")
            if len(cache.layers) != len(self.blocks):
                raise ValueError(f"cache has {len(cache.layers)} layers but the model has {len(self.blocks)}")
            if cache.batch_size != b:
                raise ValueError(f"cache was made for batch_size={cache.batch_size}; idx has batch {b}")
            past = len(cache)
        if past + t > self.config.block_size:
            raise ValueError(
                f"context too long: positions {past}..{past + t - 1} exceed block_size={self.config.block_size} "
                f"(cached {past} + new {t}); truncate the input or start a new cache with the last tokens"
            )
        if cache is not None and not self.training and not torch.is_grad_enabled():
            layers = _plain_layers(self._modules["blocks"])
            if layers is not None:
                return self._forward_cached(idx, cache, past, layers)
        pos = torch.arange(past, past + t, device=idx.device)  # [t]
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # token + position embeddings: [b, t, d]
        if cache is None:
            for block in self.blocks:
                x = block(x)  # [b, t, d]
        else:
            mask = _causal_mask(t, past, x.dtype, x.device) if t > 1 and past > 0 else None
            for block, storage in zip(self.blocks, cache.layers):
                x = block(x, storage) if mask is None else block(x, storage, mask)  # [b, t, d]
        return self.lm_head(self.ln_f(x))  # [b, t, vocab_size]

    def _forward_cached(self, idx: Tensor, cache: KVCache, past: int, layers: list[tuple]) -> Tensor:
        """Inference with a cache: the same operations in the same order as the modules' ``forward``
        (so the same numbers, bit for bit), called directly instead of through 70-odd ``nn.Module`` calls.

        ``layers``: :func:`_plain_layers` (the parameters of each block, read once per call). Used by
        ``forward`` in eval mode under ``torch.no_grad()`` when every block is a plain :class:`Block` without
        hooks (Part E's checkpointing wrappers and hooked modules take the module path). For a model this
        small a decoding step is mostly per-call overhead, so this is what makes one step and one (k+1)-token
        verify call of speculative decoding cheap (Part B, "Where the time goes").
        """
        b, t = idx.shape
        mods = self._modules
        x = F.embedding(idx, mods["tok_emb"]._parameters["weight"])  # [b, t, d]
        x = x + mods["pos_emb"]._parameters["weight"][past : past + t]  # + position embeddings: [b, t, d]
        d = x.shape[-1]
        mask = _causal_mask(t, past, x.dtype, x.device) if t > 1 and past > 0 else None  # [t, past + t]
        for (ln1, qkv_w, qkv_b, n_head, head_dim, proj_w, proj_b, ln2, fc_w, fc_b, approximate, out_w, out_b), \
                storage in zip(layers, cache.layers):
            h = F.layer_norm(x, ln1.normalized_shape, ln1.weight, ln1.bias, ln1.eps)  # [b, t, d]
            qkv = F.linear(h, qkv_w, qkv_b)  # [b, t, 3d]
            q, k, v = qkv.view(b, t, 3, n_head, head_dim).transpose(1, 3).unbind(2)  # 3 x [b, nh, t, hd]
            storage.append(k, v)
            k_all, v_all = storage.keys_values()  # [b, nh, past + t, hd]
            if k_all.dtype != q.dtype:
                k_all, v_all = k_all.to(q.dtype), v_all.to(q.dtype)
            if t == 1:
                y = F.scaled_dot_product_attention(q, k_all, v_all)  # [b, nh, 1, hd]
            elif mask is None:
                y = F.scaled_dot_product_attention(q, k_all, v_all, is_causal=True)  # [b, nh, t, hd]
            else:
                y = F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=mask)  # [b, nh, t, hd]
            y = y.transpose(1, 2).reshape(b, t, d)  # heads side by side: [b, t, d]
            x = x + F.linear(y, proj_w, proj_b)  # residual: [b, t, d]
            h = F.layer_norm(x, ln2.normalized_shape, ln2.weight, ln2.bias, ln2.eps)  # [b, t, d]
            h = F.gelu(F.linear(h, fc_w, fc_b), approximate=approximate)  # [b, t, 4d]
            x = x + F.linear(h, out_w, out_b)  # residual: [b, t, d]
        lnf = mods["ln_f"]
        x = F.layer_norm(x, lnf.normalized_shape, lnf.weight, lnf.bias, lnf.eps)  # [b, t, d]
        head = mods["lm_head"]._parameters
        return F.linear(x, head["weight"], head.get("bias"))  # [b, t, vocab_size]


def _hooked(m: nn.Module) -> bool:
    return bool(m._forward_hooks or m._forward_pre_hooks)


def _plain_layers(blocks: nn.ModuleList) -> list[tuple] | None:
    """Per block, the modules and tensors :meth:`TinyGPT._forward_cached` needs, or None when some block is not
    a :class:`Block` of plain layers without hooks (then only the modules compute exactly what they would).

    Reads ``_modules`` / ``_parameters`` directly: ``nn.Module.__getattr__`` costs about as much as a small
    tensor operation, and this runs once per decoding step."""
    if nn.modules.module._global_forward_hooks or nn.modules.module._global_forward_pre_hooks:
        return None
    layers = []
    for block in blocks._modules.values():
        if type(block) is not Block or _hooked(block):
            return None
        bm = block._modules
        ln1, attn, ln2, mlp = bm["ln1"], bm["attn"], bm["ln2"], bm["mlp"]
        am, mm = attn._modules, mlp._modules
        qkv, proj, fc, act, out = am["qkv"], am["proj"], mm["fc"], mm["act"], mm["proj"]
        if not (type(ln1) is nn.LayerNorm and type(ln2) is nn.LayerNorm and type(attn) is CausalSelfAttention
                and type(qkv) is nn.Linear and type(proj) is nn.Linear and type(mlp) is MLP
                and type(fc) is nn.Linear and type(act) is nn.GELU and type(out) is nn.Linear):
            return None
        if (_hooked(ln1) or _hooked(attn) or _hooked(qkv) or _hooked(proj) or _hooked(ln2) or _hooked(mlp)
                or _hooked(fc) or _hooked(act) or _hooked(out)):
            return None
        qp, pp, fp, op = qkv._parameters, proj._parameters, fc._parameters, out._parameters
        layers.append((ln1, qp["weight"], qp["bias"], attn.n_head, attn.head_dim, pp["weight"], pp["bias"],
                       ln2, fp["weight"], fp["bias"], act.approximate, op["weight"], op["bias"]))
    return layers


def column_major_linears_(model: nn.Module) -> nn.Module:
    """Store every ``nn.Linear`` weight of ``model`` transposed in memory (in place; returns ``model``).

    ``weight`` keeps its shape ``[out, in]`` and its values; it becomes a view of a contiguous ``[in, out]``
    tensor (strides ``(1, out)``), so ``F.linear(x, W) = x @ W^T`` multiplies by a contiguous matrix. For a
    handful of rows, as in decoding (1 row) and in speculative decoding's verify call (k + 1 rows), the math
    library then runs the same fast kernel for 5 rows as for 1: a verify call costs almost no more than a
    1-token step (Part B, "Where the time goes"). From 8 rows on (prefill, training batches, perplexity) MKL's
    default code path picks the same kernel either way, so those results are the same to the bit there (other code
    paths, e.g. ``MKL_CBWR=COMPATIBLE``, can move them in the 12th digit). ``tinylm.load`` applies it.
    """
    for m in model.modules():
        if type(m) is nn.Linear and m.weight.stride() != (1, m.weight.shape[0]):
            w = m.weight
            m.weight = nn.Parameter(w.detach().t().contiguous().t(), requires_grad=w.requires_grad)
    return model


def num_params(model: nn.Module) -> int:
    """Number of parameters (each shared tensor counted once)."""
    return sum(p.numel() for p in model.parameters())


def param_bytes(model: nn.Module) -> int:
    """Bytes the parameters occupy in memory in their current dtypes (float32: 4 bytes each)."""
    return sum(p.numel() * p.element_size() for p in model.parameters())
