"""Decode rate of the GI label reader on rendered label photos.

Renders N photos of printed QR labels (random rotation over 360°, perspective tilt up to 30°,
blur, noise, uneven light, JPEG), reads each with :func:`craftvision.certify.label.read_label`
and counts the photos whose parsed label id equals the rendered one.

    python bench/label_decoding.py --n 200 --seed 2026
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from craftvision.certify.label import LabelReadError, read_label
from craftvision.datasets.synth.label import render_label_photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--max-tilt", type=float, default=30.0, help="degrees")
    parser.add_argument("--max-blur", type=float, default=2.0, help="Gaussian sigma, pixels")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    correct = wrong = 0
    methods: Counter[str] = Counter()
    failures: list[str] = []
    seconds = 0.0
    for index in range(args.n):
        image, truth = render_label_photo(
            rng, max_tilt_deg=args.max_tilt, max_blur_px=args.max_blur
        )
        start = time.perf_counter()
        try:
            label = read_label(image)
        except LabelReadError:
            failures.append(
                f"#{index}: rotation {truth['rotation_deg']:.0f}°, tilt {truth['tilt_deg']:.0f}°, "
                f"blur {truth['blur_px']:.2f} px"
            )
            continue
        finally:
            seconds += time.perf_counter() - start
        if label.label_id == truth["label_id"]:
            correct += 1
            methods[label.method] += 1
        else:
            wrong += 1
    for line in failures:
        print("not decoded", line)
    print(f"methods: {dict(methods.most_common())}")
    print(
        f"decoded {correct} of {args.n} label photos correctly ({100 * correct / args.n:.1f} %), "
        f"{wrong} wrong id(s), {len(failures)} not decoded; "
        f"{1000 * seconds / args.n:.0f} ms per photo on average"
    )


if __name__ == "__main__":
    main()
