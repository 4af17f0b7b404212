"""Design construction (pure): preset values, and a request -> a validated design point.

    hw, md = cd.load_hardware("groq-lpu-v1"), cd.load_model("llama-2-70b")   # config edge
    d = cd.design.build_design({"hardware": hw, "model": md, "weight_dtype": "int8", "chips": 576})

Names instead of values need a :class:`Catalog` (``codesign.config.CATALOG`` reads files).
"""
from .build import REQUEST_KEYS, Design, build_design
from .catalog import Catalog, hardware_of, model_of, resolve
from .presets import Hardware, Model

__all__ = ["REQUEST_KEYS", "Catalog", "Design", "Hardware", "Model", "build_design", "hardware_of",
           "model_of", "resolve"]
