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
    year: float = 0.0  # year the generation shipped (orders generations); 0 when not stated


@dataclasses.dataclass(frozen=True)
class Model:
    """A model preset: dimensions (dtypes are chosen per evaluation) and its sources."""

    name: str
    summary: str
    dims: dict  # Workload numeric field -> float
    gated_ffn: bool
    tied_embeddings: bool
    published_params: float
    context_tokens: float
    sources: dict

    def workload(self, weight_dtype="fp16", kv_dtype="fp16", act_dtype="fp16") -> Workload:
        return Workload(**self.dims, name=self.name, weight_dtype=weight_dtype, kv_dtype=kv_dtype,
                        act_dtype=act_dtype, gated_ffn=self.gated_ffn,
                        tied_embeddings=self.tied_embeddings)
