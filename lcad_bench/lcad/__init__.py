"""The reference L-CAD model on diffusers/transformers (see docs/lcad.md)."""
