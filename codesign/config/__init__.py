"""Edge layer: reads the packaged presets, calibration and measurement files, and configs.

The entry points here take preset *names* and resolve them through :data:`CATALOG`; the pure
library below (``codesign.design``, ``objectives``, ``validation``, ``analysis``) takes values
or a catalog.
"""
from ..design import REQUEST_KEYS, Design, Hardware, Model
from .calibrated import fitted_path, load_calibrated, load_fitted
from .catalog import CATALOG, build_design, load_jia_config, load_problem
from .experiment import load_experiment
from .files import data_dir, display_path, presets_dir
from .presets import configs_dir, hardware_names, load_hardware, load_model, model_names

__all__ = ["CATALOG", "REQUEST_KEYS", "Design", "Hardware", "Model", "build_design", "configs_dir",
           "data_dir", "display_path", "fitted_path", "hardware_names", "load_calibrated",
           "load_experiment", "load_fitted", "load_hardware", "load_jia_config", "load_model",
           "load_problem", "model_names", "presets_dir"]
