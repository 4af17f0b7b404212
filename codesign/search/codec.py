"""Search coordinates: the design space's codec (:mod:`codesign.space.codec`), re-exported
for searchers."""
from ..space.codec import AUTO_LOG_RATIO, Codec, make_codec

__all__ = ["AUTO_LOG_RATIO", "Codec", "make_codec"]
