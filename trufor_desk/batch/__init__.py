"""Batch triage of image collections (Qt-free): resumable runs into an output folder,
locally or on Ray, and readers for the folder they leave (rows and stored analyses)."""

from .inputs import collect_inputs
from .results import COLUMNS, load_result_npz, npz_name, npz_path_for, read_results
from .runner import BatchProgress, BatchSummary, run_batch

__all__ = ["COLUMNS", "BatchProgress", "BatchSummary", "collect_inputs", "load_result_npz", "npz_name",
           "npz_path_for", "read_results", "run_batch"]
