"""Edge layer: presets, configs and validation (the only place that reads files)."""
from .design import REQUEST_KEYS, Design, build_design
from .presets import Hardware, Model, configs_dir, hardware_names, load_hardware, load_model, model_names

__all__ = ["REQUEST_KEYS", "Design", "build_design", "Hardware", "Model", "configs_dir",
           "hardware_names", "load_hardware", "load_model", "model_names"]
