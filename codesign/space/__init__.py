"""Design spaces: numeric variables (continuous, integer) and static variants (categorical)."""
from .space import DesignSpace, Variant, allowed_paths, parse_space
from .variables import STATIC_PATHS, Variable, parse_variable

__all__ = ["DesignSpace", "Variant", "Variable", "STATIC_PATHS", "allowed_paths", "parse_space",
           "parse_variable"]
