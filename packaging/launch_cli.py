"""Frozen entry point of the console executable ``trufor-desk`` (same as the pip script)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a no-op unless a worker process re-enters the executable
    from trufor_desk.cli import main

    sys.exit(main())
