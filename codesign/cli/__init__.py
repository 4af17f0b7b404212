"""The ``codesign`` command line: thin wrappers over the library."""
from .main import main

__all__ = ["main"]
