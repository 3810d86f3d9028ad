"""TruFor Desk: image forgery analysis for forensic examiners.

The package is split so that everything that analyses, stores or reports is plain
Python (no Qt): ``evidence`` opens images, ``engines`` holds the detectors behind one
interface, ``cli`` drives them headless.  Heavy modules (torch) are imported lazily.
"""

__version__ = "0.1.0"
