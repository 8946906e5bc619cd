"""Finding and following threads: the crests of a woven cloth's or an embroidery's threads.

An image is turned so the threads of interest stand upright, cut into bands across them, and
in each band the threads are the crests of the profile across them; crests are then followed
from band to band as threads.

Example:
    >>> import numpy as np
    >>> profile = np.cos(2 * np.pi * (np.arange(100) - 5) / 10).astype(np.float32)
    >>> crests(profile, 10.0)[:3].round(1).tolist()
    [5.0, 15.0, 25.0]
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def upright(gray: np.ndarray, across: float) -> np.ndarray:
    """The image turned so the threads repeating along ``across`` (radians from the x axis)
    stand upright (they then repeat along x); outside the photo is NaN."""
    h, w = gray.shape
    side = math.ceil(math.hypot(h, w))
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), math.degrees(across), 1.0)
    turn[:, 2] += (side - w) / 2, (side - h) / 2
    return cv2.warpAffine(gray, turn, (side, side), flags=cv2.INTER_LINEAR, borderValue=np.nan)


def crests(profile: np.ndarray, pitch: float) -> np.ndarray:
    """Sub-pixel positions of the thread crests along a profile across threads ``pitch`` apart.

    A crest is a maximum of the ridge response (minus the second derivative at the scale that
    matches threads ``pitch`` apart, 0.225 pitch), so that a thread seen only as a shoulder
    beside a brighter one counts too; of maxima closer than 0.45 pitch the stronger is kept.
    """
    smooth = cv2.GaussianBlur(profile.reshape(1, -1), (0, 0), sigmaX=max(0.6, 0.225 * pitch))[0]
    ridge = np.zeros_like(smooth)
    ridge[1:-1] = 2 * smooth[1:-1] - smooth[2:] - smooth[:-2]
    reach = max(1, round(0.45 * pitch))
    peak = np.zeros(len(ridge), bool)
    peak[1:-1] = (ridge[1:-1] > ridge[:-2]) & (ridge[1:-1] >= ridge[2:])
    heights = np.where(peak, ridge, -np.inf).astype(np.float32).reshape(1, -1)
    strongest = cv2.dilate(heights, np.ones((1, 2 * reach + 1), np.uint8))[0]
    top = np.flatnonzero(peak & (ridge >= strongest))
    a, b, c = ridge[top - 1], ridge[top], ridge[top + 1]
    denom = a - 2 * b + c
    step = np.where(denom < 0, 0.5 * (a - c) / np.where(denom < 0, denom, -1.0), 0.0)
    return top + np.clip(step, -0.5, 0.5)


def band_crests(image: np.ndarray, pitch: float, band: int) -> list[np.ndarray]:
    """Thread crests (x) in each band ``band`` rows high of an upright image, top to bottom."""
    out = []
    for top in range(0, image.shape[0] - band + 1, band):
        rows = image[top : top + band]
        cols = np.flatnonzero(np.isfinite(rows).all(axis=0))
        if len(cols) < 4 * pitch:
            out.append(np.empty(0))
            continue
        out.append(cols[0] + crests(rows[:, cols[0] : cols[-1] + 1].mean(axis=0), pitch))
    return out


def track(bands: list[np.ndarray], pitch: float, memory: int = 1) -> list[np.ndarray]:
    """Thread ids of the crests of every band.

    A crest continues the thread last seen nearest to it, within 0.3 pitch once the common
    drift of all threads (a slant or a bow) is taken off, if that thread was seen in one of
    the ``memory`` bands before; any other crest starts a new thread.
    """
    ids: list[np.ndarray] = []
    seen_at = np.empty(0)  # every thread's last position, band and id
    seen_band = np.empty(0, int)
    seen_id = np.empty(0, int)
    fresh_id = 0
    for k, found in enumerate(bands):
        own = np.arange(fresh_id, fresh_id + len(found))
        fresh_id += len(found)
        live = np.flatnonzero(seen_band >= k - memory)
        if len(found) and len(live):
            order = live[np.argsort(seen_at[live])]
            last = seen_at[order]
            drift = 0.0
            for _ in range(2):
                at = np.clip(np.searchsorted(last, found - drift), 0, len(last) - 1)
                left = np.clip(at - 1, 0, len(last) - 1)
                nearest = np.where(
                    np.abs(found - drift - last[left]) < np.abs(found - drift - last[at]), left, at
                )
                offsets = found - last[nearest]
                drift = float(np.median(offsets))
            close = np.abs(offsets - drift) < 0.3 * pitch
            # One crest per thread: of crests claiming the same thread the closest keeps it.
            rank = np.lexsort((np.abs(offsets - drift), nearest))
            first = np.ones(len(rank), bool)
            first[1:] = nearest[rank][1:] != nearest[rank][:-1]
            unique = np.zeros(len(found), bool)
            unique[rank[first]] = True
            claimed = close & unique
            own = np.where(claimed, seen_id[order][nearest], own)
            seen_at[order[nearest[claimed]]] = found[claimed]
            seen_band[order[nearest[claimed]]] = k
        fresh = own >= fresh_id - len(found)
        seen_at = np.concatenate([seen_at, found[fresh]])
        seen_band = np.concatenate([seen_band, np.full(fresh.sum(), k)])
        seen_id = np.concatenate([seen_id, own[fresh]])
        ids.append(own)
    return ids
