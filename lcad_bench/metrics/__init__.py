"""Evaluation metrics (benchmark-protocol.md section 6)."""
