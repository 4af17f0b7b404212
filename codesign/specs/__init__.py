"""Layer 1: spec pytrees (chip, system, workload, mapping, scenario)."""
from ._pytree import numeric_fields, pytree_dataclass, replace, static
from .chip import EXECUTIONS, MEMORY_KINDS, PP_SPLITS, PRICE_MODES, Chip
from .dtypes import DTYPE_BYTES, DTYPES, dtype_bytes
from .mapping import Mapping, Scenario
from .system import TOPOLOGIES, TORUS_DIMS, System
from .workload import Workload

__all__ = [
    "Chip", "System", "Workload", "Mapping", "Scenario", "DTYPES", "DTYPE_BYTES", "dtype_bytes",
    "EXECUTIONS", "MEMORY_KINDS", "PP_SPLITS", "PRICE_MODES", "TOPOLOGIES", "TORUS_DIMS", "numeric_fields",
    "pytree_dataclass", "replace", "static",
]
