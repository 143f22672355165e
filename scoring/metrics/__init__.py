"""Metric engines.

Top-k accuracy (one ranked list per item), re-identification's mAP and CMC (one distance row per query) and
the Cityscapes pixel-level evaluation (one image at a time) are streaming objects: ``update()`` per item and
``compute()`` at the end, so a scorer holds one item at a time. COCO detection (boxes or masks) is one
``evaluate()`` over all detections: the submission is one JSON document, parsed whole, and pycocotools'
accumulation ranks every detection of a category across all images. Masks are compressed RLE, read by
``rle.py`` into runs, on which their overlaps are computed.
"""
