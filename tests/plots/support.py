"""Shared helpers of the plot tests."""

from __future__ import annotations


def overlaps(texts, renderer) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose boxes overlap (labels that would be unreadable)."""
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_text()]
    bad = []
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1 :]:
            if ba.overlaps(bb):
                bad.append((a, b))
    return bad
