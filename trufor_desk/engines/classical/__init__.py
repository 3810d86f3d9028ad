"""Weight-free detectors: each written from its paper, vectorised with numpy/OpenCV,
each returning the same AnalysisResult as TruFor."""
