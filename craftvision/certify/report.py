"""A self-contained HTML report of an inspection record, and a PDF of it when an engine exists.

The report shows the verdict and its reasons, the label, lab, operator and time, whether the
record verifies (and the photos' hashes, when the photos are given), every photo with its
result and heatmap (inlined as base64; a photo whose hash does not match is not shown), the
measurements with a diameter histogram when the record has diameters, the models, and a QR
code encoding the record id and hash for a buyer to scan. The PDF is printed by a headless
Chromium / Chrome / Edge if one is on ``PATH``, else by WeasyPrint if installed; otherwise it
is skipped with a note.

Example:
    >>> files = write_report("record.json", "report.html", images="samples/product",
    ...                      public_key="lab.pub.pem", pdf=True)       # doctest: +SKIP
    >>> files.html.name, files.notes                                   # doctest: +SKIP
    ('report.html', ['no PDF engine found: install chromium or weasyprint for a PDF'])
"""

from __future__ import annotations

import base64
import html
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from craftvision.atomic import atomic_write_bytes, atomic_write_text
from craftvision.certify.record import Record, Verification, sha256_file, verify
from craftvision.errors import CraftvisionError

QR_TEMPLATE = "craftvision-record:{record_id}?sha256={sha256}"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "msedge")
THUMBNAIL_SIDE = 480
_COLOURS = {"genuine": "#1b7f3b", "imitation": "#b3261e", "inconclusive": "#8a6d00"}
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;
text-align:left;font-size:.9rem;vertical-align:top}.verdict{color:#fff;padding:.2rem .6rem;
border-radius:4px;font-weight:bold}.ok{color:#1b7f3b}.bad{color:#b3261e;font-weight:bold}
.photos{display:flex;flex-wrap:wrap;gap:1rem}.photo{border:1px solid #ddd;padding:.5rem;
width:300px;font-size:.85rem}.photo img{max-width:100%}code{font-size:.8rem;word-break:break-all}
.head{display:flex;justify-content:space-between;gap:1rem}.qr img{width:160px;
image-rendering:pixelated}
"""


class ReportError(CraftvisionError):
    """A report could not be written."""


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote, and notes on what it skipped."""

    html: Path
    pdf: Path | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "html": str(self.html),
            "pdf": str(self.pdf) if self.pdf else None,
            "notes": list(self.notes),
        }


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _data_uri(image: np.ndarray, *, side: int = THUMBNAIL_SIDE, png: bool = False) -> str:
    """An RGB image, shrunk to at most ``side`` pixels, as a ``data:`` URI."""
    scale = side / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    kind, params = (".png", []) if png else (".jpg", [cv2.IMWRITE_JPEG_QUALITY, 85])
    ok, buf = cv2.imencode(kind, bgr, params)
    if not ok:
        raise ReportError("could not encode an image for the report")
    mime = "image/png" if png else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.tobytes()).decode('ascii')}"


def qr_data_uri(payload: str, *, module_px: int = 6) -> str:
    """A QR code (``cv2.QRCodeEncoder``) of ``payload`` as a PNG ``data:`` URI.

    Example:
        >>> qr_data_uri("craftvision-record:1?sha256=00")[:22]
        'data:image/png;base64,'
    """
    symbol = cv2.QRCodeEncoder.create().encode(payload)
    big = cv2.resize(symbol, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    return _data_uri(big, side=max(big.shape), png=True)


def _heatmap_for(heatmaps: Path, name: str) -> Path | None:
    """The heatmap of photo ``name``: the same relative path under ``heatmaps``, else a file
    named after the photo's stem (``a.png`` → ``a.png``, ``a_heatmap.png``, ``a.heat.jpg``)."""
    from craftvision.imageio import IMAGE_SUFFIXES

    same = heatmaps / name
    if same.is_file():
        return same
    stem = Path(name).stem
    for path in sorted(heatmaps.rglob(f"{stem}*")):
        rest = path.stem[len(stem) :]
        if path.suffix.lower() in IMAGE_SUFFIXES and (not rest or rest[0] in "._-"):
            return path
    return None


def _photo_card(entry: dict[str, Any], images: Path | None, heatmaps: Path | None) -> str:
    from craftvision.errors import ImageReadError
    from craftvision.imageio import read_image

    name = entry["file"]
    result = entry.get("result", {})
    if "error" in result:
        outcome = f"<span class='bad'>not inspected</span>: {_esc(result['error'])}"
    else:
        outcome = (
            f"{_esc(result.get('label'))} — <b>{_esc(result.get('verdict'))}</b>, "
            f"p(genuine) {float(result.get('genuine_probability', 0)):.3f}"
        )
    picture = "<p>(photo not provided)</p>"
    if images is not None:
        path = images / name
        if not path.is_file():
            picture = "<p class='bad'>photo missing</p>"
        elif sha256_file(path) != entry["sha256"]:
            picture = "<p class='bad'>photo does not match the record's SHA-256: not shown</p>"
        else:
            try:
                picture = f"<img alt='{_esc(name)}' src='{_data_uri(read_image(path))}'>"
            except ImageReadError as err:
                picture = f"<p class='bad'>{_esc(err)}</p>"
    heat = ""
    found = _heatmap_for(heatmaps, name) if heatmaps is not None else None
    if found is not None:
        try:
            heat = (
                f"<img alt='heatmap of {_esc(name)}' src='{_data_uri(read_image(found))}'>"
                "<br><small>heatmap (not part of the signed record)</small>"
            )
        except ImageReadError as err:
            heat = f"<p class='bad'>{_esc(err)}</p>"
    return (
        f"<div class='photo'>{picture}{heat}<p><b>{_esc(name)}</b> ({_esc(entry['modality'])})"
        f"<br>{outcome}<br><code>sha256 {_esc(entry['sha256'])}</code></p></div>"
    )


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested measurements as ``(dotted.name, scalar)`` rows; long lists are summarised."""
    if isinstance(value, dict):
        rows: list[tuple[str, Any]] = []
        for key in sorted(value):
            rows.extend(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(value, list):
        if len(value) > 8 or any(isinstance(v, dict | list) for v in value):
            return [(prefix, f"{len(value)} values")]
        return [(prefix, ", ".join(str(v) for v in value))]
    if isinstance(value, float):
        return [(prefix, f"{value:.4g}")]
    return [(prefix, value)]


def _diameters(value: Any) -> list[float]:
    """Every number listed under a key ending in ``diameters_um`` anywhere in ``value``."""
    found: list[float] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).endswith("diameters_um") and isinstance(item, list):
                found.extend(float(v) for v in item if isinstance(v, int | float))
            else:
                found.extend(_diameters(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_diameters(item))
    return found


def histogram_svg(values: list[float], *, unit: str = "µm", bins: int = 20) -> str:
    """An inline SVG histogram of ``values``.

    Example:
        >>> histogram_svg([12.0, 13.5, 14.1, 15.0])[:4]
        '<svg'
    """
    counts, edges = np.histogram(np.asarray(values, np.float64), bins=bins)
    width, height, pad = 600, 220, 30
    bar = (width - 2 * pad) / bins
    top = max(int(counts.max()), 1)
    bars = "".join(
        f"<rect x='{pad + i * bar:.1f}' y='{height - pad - c / top * (height - 2 * pad):.1f}' "
        f"width='{bar - 1:.1f}' height='{c / top * (height - 2 * pad):.1f}' fill='#4a6fa5'>"
        f"<title>{edges[i]:.1f}–{edges[i + 1]:.1f} {unit}: {c}</title></rect>"
        for i, c in enumerate(counts.tolist())
    )
    axis = (
        f"<text x='{pad}' y='{height - 8}' font-size='12'>{edges[0]:.1f} {unit}</text>"
        f"<text x='{width - pad}' y='{height - 8}' font-size='12' text-anchor='end'>"
        f"{edges[-1]:.1f} {unit}</text>"
        f"<text x='{pad}' y='{pad - 10}' font-size='12'>{len(values)} fibres, "
        f"peak {top} per bin</text>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"role='img' aria-label='diameter histogram'>{bars}{axis}</svg>"
    )


def _table(rows: list[tuple[str, Any]], header: tuple[str, str]) -> str:
    body = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f"<table><tr><th>{_esc(header[0])}</th><th>{_esc(header[1])}</th></tr>{body}</table>"


def render_html(
    record: Record,
    verification: Verification,
    *,
    images: Path | None = None,
    heatmaps: Path | None = None,
    qr_template: str = QR_TEMPLATE,
) -> str:
    """The report of ``record`` as one HTML document (see :func:`write_report`)."""
    data = record.data
    verdict = data["sample"]["verdict"]
    qr_payload = qr_template.format(record_id=record.record_id, sha256=record.sha256)
    checks = "".join(
        f"<li class='{'ok' if c.ok else 'bad'}'>{'✔' if c.ok else '✘'} {_esc(c.name)}: "
        f"{_esc(c.detail)}</li>"
        for c in verification.checks
    )
    if images is None:
        checks += "<li>photos not checked (no photo folder given)</li>"
    label = data["label"]
    facts = [
        ("label id", label["id"]),
        ("label read from", "QR photo " + label["photo"]["file"] if "photo" in label else "id"),
        ("QR payload", label.get("payload", "—")),
        ("lab", data["lab"]),
        ("operator", data["operator"]),
        ("inspected (UTC)", data["created"]),
        ("sample", data["sample"].get("name", "")),
        ("record id", record.record_id),
        ("record SHA-256", record.sha256),
        ("signing key", data["signature"].get("key_id", "?")),
    ]
    reasons = "".join(f"<li>{_esc(r)}</li>" for r in data["sample"]["reasons"])
    photos = "".join(_photo_card(e, images, heatmaps) for e in data["images"])
    measurements = data["measurements"]
    diameters = _diameters(measurements)
    histogram = f"<h3>Fibre diameters</h3>{histogram_svg(diameters)}" if len(diameters) >= 5 else ""
    bundles = "".join(
        f"<tr><td>{_esc(b['modality'])}</td><td>{_esc(b['name'])}</td>"
        f"<td>{_esc(b.get('created') or '—')}</td><td>{_esc(b.get('library_version') or '—')}"
        f"</td><td><code>{_esc(b['weights_sha256'])}</code></td></tr>"
        for b in data["bundles"]
    )
    software = ", ".join(f"{k} {v}" for k, v in sorted(data["software"].items()))
    colour = _COLOURS.get(verdict, "#555")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Inspection record {_esc(record.record_id)}</title><style>{_STYLE}</style></head>
<body>
<div class="head"><div>
<h1>Inspection record — label {_esc(label["id"])}</h1>
<p><span class="verdict" style="background:{colour}">{_esc(verdict.upper())}</span></p>
<ul>{reasons}</ul></div>
<div class="qr"><img alt="QR code of the record id and hash" src="{qr_data_uri(qr_payload)}">
<br><code>{_esc(qr_payload)}</code></div></div>
<h2>Verification</h2><ul>{checks}</ul>
<h2>Record</h2>{_table(facts, ("field", "value"))}
<h2>Photos</h2><div class="photos">{photos}</div>
<h2>Measurements</h2>{_table(_flatten(measurements), ("measurement", "value"))}{histogram}
<h2>Models</h2><table><tr><th>modality</th><th>model</th><th>created</th>
<th>library</th><th>weights SHA-256</th></tr>{bundles}</table>
<p><small>Made with {_esc(software)}. This report is a view of the signed record; check the
record itself with <code>craftvision verify</code>.</small></p>
</body></html>
"""


def _pdf_engine() -> tuple[str, str] | None:
    """``("browser", path)`` or ``("weasyprint", "")`` for the first PDF engine found."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return "browser", path
    try:
        import weasyprint  # noqa: F401
    except ImportError:
        return None
    return "weasyprint", ""


def _print_pdf(engine: tuple[str, str], html_path: Path, timeout: float) -> bytes:
    """The PDF bytes of ``html_path`` printed by ``engine`` (see :func:`_pdf_engine`)."""
    if engine[0] == "weasyprint":
        import weasyprint

        return weasyprint.HTML(filename=str(html_path)).write_pdf()
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "report.pdf"
        subprocess.run(
            [
                engine[1],
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--no-pdf-header-footer",
                f"--print-to-pdf={target}",
                html_path.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        return target.read_bytes()


def write_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 120.0) -> str | None:
    """Print ``html_path`` to ``pdf_path`` atomically; returns a note when no engine exists."""
    engine = _pdf_engine()
    if engine is None:
        return "no PDF engine found: install chromium or weasyprint for a PDF"
    try:
        data = _print_pdf(engine, html_path, timeout)
    except (OSError, subprocess.SubprocessError) as err:
        raise ReportError(f"{pdf_path}: printing the PDF failed ({err})") from err
    if not data.startswith(b"%PDF"):
        raise ReportError(f"{pdf_path}: the PDF engine {engine[1] or engine[0]} wrote no PDF")
    atomic_write_bytes(pdf_path, data)
    return None


def write_report(
    record: str | os.PathLike | Record,
    out: str | os.PathLike,
    *,
    images: str | os.PathLike | None = None,
    heatmaps: str | os.PathLike | None = None,
    public_key: str | os.PathLike | Ed25519PublicKey | None = None,
    pdf: bool = False,
    qr_template: str = QR_TEMPLATE,
) -> ReportFiles:
    """Write the HTML report of ``record`` to ``out`` (atomically) and, with ``pdf``, a PDF
    beside it (``out`` with ``.pdf``). ``images`` is the sample folder (photos are inlined only
    if their hash matches), ``heatmaps`` a folder of heatmap images named after the photos,
    ``public_key`` the key the record must be signed by. ``qr_template`` formats the QR payload
    from ``{record_id}`` and ``{sha256}`` (e.g. a lab's verification URL)."""
    verification = verify(record, public_key=public_key, images=images)
    if verification.record is None:
        reason = "; ".join(c.detail for c in verification.failures)
        raise ReportError(f"{verification.source}: {reason}; no report written")
    try:
        qr_template.format(record_id="", sha256="")
    except (KeyError, IndexError, ValueError) as err:
        raise ReportError(
            f"QR template {qr_template!r} is invalid ({err}); use {{record_id}} and {{sha256}}"
        ) from err
    if heatmaps is not None and not Path(heatmaps).is_dir():
        raise ReportError(f"{heatmaps}: not a folder of heatmaps")
    document = render_html(
        verification.record,
        verification,
        images=Path(images) if images is not None else None,
        heatmaps=Path(heatmaps) if heatmaps is not None else None,
        qr_template=qr_template,
    )
    html_path = atomic_write_text(out, document)
    if not pdf:
        return ReportFiles(html_path)
    pdf_path = html_path.with_suffix(".pdf")
    note = write_pdf(html_path, pdf_path)
    if note is not None:
        return ReportFiles(html_path, None, [note])
    return ReportFiles(html_path, pdf_path)


__all__ = ["QR_TEMPLATE", "ReportError", "ReportFiles", "histogram_svg", "write_report"]
