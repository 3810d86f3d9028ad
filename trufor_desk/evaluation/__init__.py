"""Scoring detector outputs against ground truth (TruFor's published protocol)."""
