"""Compatibility alias (old import path): use ``codesign.config.build_design`` (names) or
``codesign.design`` (values). Remove once no caller imports ``codesign.config.design``."""
from ..design import REQUEST_KEYS, Design
from .catalog import build_design

__all__ = ["REQUEST_KEYS", "Design", "build_design"]
