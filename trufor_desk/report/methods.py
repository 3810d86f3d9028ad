"""What each method is, where it comes from and what it cannot do: the text the report prints.

One :class:`Method` per engine name (title, description, references, limitations, what its
map means), and the report's general limitations.  Text only: no layout here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    title: str
    description: str
    references: tuple[str, ...]
    limitations: tuple[str, ...] = ()
    map_meaning: str = "1 = likely manipulated, 0 = no trace found"


METHODS: dict[str, Method] = {
    "trufor": Method(
        "TruFor",
        "A deep network that combines the RGB image with Noiseprint++, a learned camera-model fingerprint, "
        "in a transformer encoder. It outputs an anomaly (localization) map, a reliability (confidence) map "
        "that marks where the localization can be trusted, and an image-level integrity score computed from "
        "both.",
        ("F. Guillaro, D. Cozzolino, A. Sud, N. Dufour, L. Verdoliva, \"TruFor: Leveraging all-round clues "
         "for trustworthy image forgery detection and localization\", IEEE/CVF CVPR 2023, pp. 20606-20615.",),
        ("Trained on specific manipulation types and datasets; unseen generators, heavy resizing or repeated "
         "social-network recompression can reduce its accuracy.",
         "Results depend on the checkpoint: the weights SHA-256 identifies the exact model used."),
        "1 = likely manipulated (network probability per pixel)"),
    "fusion": Method(
        "Fusion of weight-free detectors (default without TruFor weights)",
        "Three training-free detectors combined into one map. The compression history is read layer by layer "
        "with aligned double quantisation over all 63 DCT frequencies: the file's last save over the one "
        "before, then, with the primary steps found there as the table, the save before that (so a splice "
        "that was saved and then re-shared still shows); an earlier grid shifted by a crop is detected and "
        "reported. A block is marked where its evidence of a single compression stands out from the image's "
        "untouched majority. Blocks with a clipped (saturated or black) pixel carry no such evidence: each "
        "block's evidence is averaged over its unclipped neighbours only, a block is read where those carry at "
        "least 30 % of the averaging weight, and one whose average rests on few neighbours must stand out "
        "further. Splicebuster's noise statistics are weighted down, and capped below the "
        "decision threshold, where the image has a JPEG history; SIFT copy-move is added with a small weight. "
        "The reliability map is the double-quantisation evidence per block where that history exists, "
        "Splicebuster's elsewhere. The image-level score is a logistic model, fitted on a named set of real "
        "photographs and their re-shared copies, of the strength of the compression history, the share of the "
        "image compressed fewer times than the rest and the strength of the best copy-move match. A PNG, TIFF or "
        "BMP whose pixels still carry the 8x8 lattice of an earlier JPEG compression (a JPEG converted to PNG, "
        "for example) is analysed as that JPEG. A photograph with no JPEG history stored losslessly (PNG, TIFF, "
        "BMP) is also searched for textured 8x8 patches repeated bit for bit (a clone, or a fill from copied "
        "patches over a removed object), which are marked in the map, and for the largest area too smooth for "
        "its structure (diffusion inpainting, blur), which is a separate layer; its score is a second logistic "
        "model, fitted on never-compressed forgeries, of the copy-move match, that smooth area's share and the "
        "number of repeated patches. Lossy formats with no JPEG history (HEIC, WebP) get no score. The share "
        "each detector contributed is recorded in the parameters.",
        ("T. Bianchi, A. Piva, \"Image forgery localization via block-grained analysis of JPEG artifacts\", "
         "IEEE Transactions on Information Forensics and Security 7(3), 2012.",
         "D. Cozzolino, G. Poggi, L. Verdoliva, \"Splicebuster: a new blind image splicing detector\", "
         "IEEE WIFS 2015.",
         "I. Amerini et al., \"A SIFT-based forensic method for copy-move attack detection and transformation "
         "recovery\", IEEE Transactions on Information Forensics and Security 6(3), 2011."),
        ("The score is calibrated on CASIA v1.0 photographs and copies of them re-saved, cropped and resized "
         "as messaging apps do; other kinds of photographs can behave differently.",
         "A splice saved once, with no earlier compression of the host, leaves no double-quantisation trace; "
         "then only the weaker noise and copy-move evidence remain.",
         "Resizing (or any re-encoding that resamples the pixels) erases the compression history: a resized "
         "copy can only be judged on noise and copy-move evidence.",
         "A re-save coarser than the save before it wipes the earlier layers; a crop after a save is detected "
         "but not localised with.",
         "Without any JPEG history (a camera's PNG or TIFF, or a JPEG resized and saved as PNG since) the "
         "map rests on noise statistics, copy-move and exactly repeated patches; the never-compressed score "
         "is calibrated on small forgeries made from CASIA v1.0 photographs (downscaled, then spliced, "
         "copy-moved or filled) and separates splices from authentic images poorly: a splice there is found "
         "mostly by its noise statistics in the map.",
         "Screenshots and graphics (many exactly flat areas) are not photographs: the repeated-patch and "
         "smoothness tests do not apply to them and no score is given.",),
        "1 = block compressed once in a re-saved JPEG, repeated bit for bit elsewhere in a never-compressed "
        "photo, or unlike the image's noise statistics"),
    "adq": Method(
        "Aligned double quantisation (ADQ)",
        "On the file's own 8x8 grid, the DCT coefficients of each of the 63 AC frequencies are recomputed and "
        "divided by the file's quantisation steps; the primary step of an earlier compression is estimated per "
        "frequency by maximum likelihood (single- vs double-quantisation mixture, unquantised distribution "
        "estimated on a shifted grid). Blocks whose values fit single quantisation better are marked.",
        ("T. Bianchi, A. Piva, \"Image forgery localization via block-grained analysis of JPEG artifacts\", "
         "IEEE Transactions on Information Forensics and Security 7(3), 2012.",
         "Z. Lin, J. He, X. Tang, C.-K. Tang, \"Fast, automatic and fine-grained tampered JPEG image detection "
         "via DCT coefficient analysis\", Pattern Recognition 42(11), 2009."),
        ("JPEG files only; needs an earlier compression of the host on the same grid; a re-saved authentic "
         "photo has a double-compression history too.",),
        "1 = block compressed only once in a double-compressed JPEG"),
    "splicebuster": Method(
        "Splicebuster",
        "A blind, training-free detector: co-occurrences of quantised high-pass noise residuals are computed "
        "in sliding windows, a model of the host camera's statistics is fitted robustly on the image itself, "
        "and windows that do not fit it are marked. The reliability map is low where the residual carries no "
        "information (saturated, near-black or flat areas).",
        ("D. Cozzolino, G. Poggi, L. Verdoliva, \"Splicebuster: a new blind image splicing detector\", "
         "IEEE International Workshop on Information Forensics and Security (WIFS) 2015.",),
        ("Needs the spliced region to be large compared with the analysis window; strong textures and "
         "edges can produce false alarms.",),
        "1 = window statistics unlike the rest of the image"),
    "noise": Method(
        "Local noise level",
        "Estimates the local noise standard deviation from the kurtosis of band-pass (DCT) channels and "
        "marks regions whose noise level is inconsistent with the rest of the image.",
        ("X. Pan, X. Zhang, S. Lyu, \"Exposing image splicing with inconsistent local noise variances\", "
         "IEEE International Conference on Computational Photography (ICCP) 2012.",),
        ("Denoising, strong compression or uniform added noise hide the inconsistency; naturally smooth or "
         "textured regions can differ in estimated noise.",),
        "1 = local noise level inconsistent with the image"),
    "jpeg": Method(
        "JPEG grid and double quantisation",
        "Two compression traces: the 8x8 JPEG grid origin per region (a-contrario test on the number of DCT "
        "zeros) and aligned double quantisation of the DCT coefficients, whose absence in part of a "
        "recompressed JPEG indicates a region with another history.",
        ("T. Nikoukhah, J. Anger, M. Colom, J.-M. Morel, R. Grompone von Gioi, \"ZERO: a local JPEG grid "
         "origin detector based on the number of DCT zeros and its applications in image forensics\", "
         "Image Processing On Line 11, 2021.",
         "T. Bianchi, A. Piva, \"Image forgery localization via block-grained analysis of JPEG artifacts\", "
         "IEEE Transactions on Information Forensics and Security 7(3), 2012."),
        ("Applies to JPEG files only; resizing, cropping off the grid or a final low-quality compression "
         "erase the traces.",),
        "1 = compression history differs from the rest of the image"),
    "ela": Method(
        "Error level analysis (ELA)",
        "The image is re-saved as JPEG at one quality and the per-pixel difference is shown, scaled robustly. "
        "Regions with another compression history can settle differently.",
        ("N. Krawetz, \"A picture's worth: digital image analysis and forensics\", Black Hat Briefings 2007.",),
        ("A visual aid, not a detector: edges and texture respond as strongly as edits, so ELA gives no score "
         "and must not be read on its own.",),
        "bright = large change on re-compression (not a probability)"),
    "ghost": Method(
        "JPEG ghosts",
        "The image is re-saved over a range of JPEG qualities; a region that was compressed earlier at a lower "
        "quality changes unusually little at that quality and appears as a 'ghost'.",
        ("H. Farid, \"Exposing digital forgeries from JPEG ghosts\", IEEE Transactions on Information "
         "Forensics and Security 4(1), 2009.",),
        ("Only finds regions compressed at a lower quality than the last save and aligned with its 8x8 grid; "
         "a visual layer without a score.",),
        "1 = region re-compresses with unusually little change"),
    "copymove": Method(
        "Copy-move detection",
        "SIFT keypoints are matched within the image (generalised 2NN test), clustered by the affine "
        "transformation they agree on (RANSAC), and each hypothesis is verified densely by correlating the "
        "image with its transformed self; verified source and destination regions are marked.",
        ("I. Amerini, L. Ballan, R. Caldelli, A. Del Bimbo, G. Serra, \"A SIFT-based forensic method for "
         "copy-move attack detection and transformation recovery\", IEEE Transactions on Information "
         "Forensics and Security 6(3), 2011.",
         "X. Pan, S. Lyu, \"Region duplication detection using image feature matching\", IEEE Transactions "
         "on Information Forensics and Security 5(4), 2010."),
        ("Detects duplication within the same image only; flat regions without keypoints and genuinely "
         "repetitive content (tiles, windows, foliage) limit it.",),
        "1 = verified duplicated region (source or copy)"),
}

LIMITATIONS = (
    "A negative result does not prove authenticity: a manipulation may use a technique the methods cannot "
    "see, or lie where they are unreliable.",
    "A positive result is an indication for further examination, not proof of manipulation: benign "
    "processing (resizing, recompression, filters, HDR, computational photography) can leave similar traces.",
    "A score is called a probability only where the engine records how it was calibrated, and then only as "
    "far as the calibration set resembles this image; an uncalibrated score is a heuristic. Compare maps, "
    "reliability and metadata, and consider the image's provenance.",
    "Compression history (double quantisation, the strongest weight-free trace): it reads only what the "
    "JPEG saves left. An authentic photograph saved twice (re-shared, edited and re-saved) shows a "
    "double-compression history everywhere; a later save coarser than the one before, resizing, rotation or "
    "any resampling erases the earlier traces; an image never compressed as JPEG has none. On a small "
    "image (under 1,536 blocks of 8x8, about 384x256 pixels) a single "
    "save can mimic a history by chance; the part of the trace that chance explains at that size is "
    "discounted, so only a strong history of a small image is read.",
    "Never compressed as JPEG (PNG, TIFF, BMP with no JPEG lattice): what is left is in the pixels. Patches "
    "repeated bit for bit are a strong trace of a copy or a fill, but software that generates or edits "
    "images can repeat patches too; an area too smooth for its structure may be a diffusion fill or just "
    "flat sky, so it never marks the map alone. The score of such images is calibrated on small forgeries "
    "made by a script from CASIA v1.0 photographs and finds splices poorly. Screenshots and graphics, and "
    "lossy formats without a JPEG history (HEIC, WebP), get no weight-free score.",
    "Copy-move: it finds regions duplicated within the same image only, and natural repetitions (tiles, "
    "windows, text, foliage, patterned fabric) can match like a clone; flat regions without keypoints are "
    "not searched. It therefore never decides a verdict alone.",
    "Noise statistics (Splicebuster, local noise level): the foreign region must be large compared with the "
    "analysis window; on small images (a few hundred pixels a side), and on flat, saturated, dark or "
    "heavily denoised ones, the statistics have too little to work with and the reliability map is low; "
    "strong textures and edges can raise false alarms.",
    "The weight-free scores are calibrated on CASIA v1.0 development photographs (300 manipulated, 200 "
    "authentic JPEGs, mostly 384x256) pooled with copies of them re-saved, cropped and downscaled as "
    "messaging apps do (never-compressed images: on forgeries made from those photographs); TruFor's "
    "score is its detection head's output, trained on the authors' data. "
    "Photographs of other sizes, cameras, editors or generators can behave differently; the calibration "
    "of each score is printed on its analysis page.",
    "Figures are downscaled for printing.",
    "The analyses cover the pixels as decoded (stored orientation, the listed conversions); metadata can be "
    "forged as easily as pixels.",
)


def method_title(engine: str) -> str:
    return METHODS[engine].title if engine in METHODS else engine
