"""Preset values: a hardware preset (chip + system + calibration family) and a model preset
(dimensions; dtypes are chosen per evaluation), each with the source of every number.

These are plain values. Reading them from files is the config layer's job
(:func:`codesign.config.load_hardware`, :func:`codesign.config.load_model`).
"""
import dataclasses

from ..specs import Chip, System, Workload


@dataclasses.dataclass(frozen=True)
class Hardware:
    """A hardware preset: the chip, the system it ships in, and where each number came from."""

    name: str
    summary: str
    chip: Chip
    system: System
    sources: dict  # "chip.field" / "system.field" -> source text
    family: str  # calibration family: presets of one family share fitted parameters
    vendor: str = ""  # who sells it (grouping in `codesign presets`); "" when not stated
    generation: str = ""  # architecture generation, e.g. "Blackwell Ultra"; "" when not stated
    year: float = 0.0  # year the generation first shipped (orders generations); 0 when not stated


@dataclasses.dataclass(frozen=True)
class Model:
    """A model preset: dimensions (dtypes are chosen per evaluation) and its sources.

    ``weight_dtype`` / ``expert_dtype`` are the formats the checkpoint ships in ("" when it
    ships in 16 bits): used when a request leaves the weight dtype unset.
    ``published_active_params`` (0 = not published) is the publisher's count of parameters
    per token, with the input embedding table counted when ``active_counts_embedding``.
    """

    name: str
    summary: str
    dims: dict  # Workload numeric field -> float
    gated_ffn: bool
    tied_embeddings: bool
    published_params: float
    context_tokens: float
    sources: dict
    attention: str = "gqa"
    weight_dtype: str = ""
    expert_dtype: str = ""
    published_active_params: float = 0.0
    active_counts_embedding: bool = False

    def workload(self, weight_dtype="fp16", kv_dtype="fp16", act_dtype="fp16", expert_dtype="") -> Workload:
        return Workload(**self.dims, name=self.name, weight_dtype=weight_dtype, kv_dtype=kv_dtype,
                        act_dtype=act_dtype, gated_ffn=self.gated_ffn,
                        tied_embeddings=self.tied_embeddings, attention=self.attention,
                        expert_dtype=expert_dtype)

    def features(self) -> dict:
        """Architecture features by name (attention, experts, dense_layers, sliding_window,
        mtp, formats), as short text for listings; a plain dense GQA model has only
        ``attention``."""
        d = self.dims
        g = lambda k: d.get(k, 0.0)  # noqa: E731
        out = {}
        if self.attention == "mla":
            out["attention"] = (f"MLA (latent {g('kv_lora_rank'):.0f} + rope {g('qk_rope_head_dim'):.0f} "
                                f"per token per layer, {d['n_heads']:.0f} heads)")
        elif d["n_kv_heads"] < d["n_heads"]:
            out["attention"] = f"GQA ({d['n_heads']:.0f} heads, {d['n_kv_heads']:.0f} KV heads)"
        else:
            out["attention"] = f"MHA ({d['n_heads']:.0f} heads)"
        if d["n_experts"] > 0:
            shared = f" + {g('n_shared_experts'):.0f} shared" if g("n_shared_experts") else ""
            out["experts"] = (f"{d['n_experts']:.0f} routed{shared}, top-{d['experts_per_token']:.0f}"
                              + (f", width {g('moe_ffn_dim'):.0f}" if g("moe_ffn_dim") else ""))
        if g("dense_layers"):
            out["dense_layers"] = f"first {g('dense_layers'):.0f} of {d['layers']:.0f} layers dense"
        if g("sliding_layers"):
            out["sliding_window"] = (f"{g('sliding_layers'):.0f} of {d['layers']:.0f} layers, "
                                     f"{g('sliding_window'):.0f} tokens")
        if g("mtp_modules"):
            out["mtp"] = f"{g('mtp_modules'):.0f} multi-token-prediction module(s)"
        if self.weight_dtype or self.expert_dtype:
            fmt = [f"weights {self.weight_dtype}"] if self.weight_dtype else []
            fmt += [f"experts {self.expert_dtype}"] if self.expert_dtype else []
            out["formats"] = ", ".join(fmt) + " (as shipped)"
        return out
