"""lcad-bench: a benchmark for language-based image colorization at any level of description."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
