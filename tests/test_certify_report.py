"""HTML reports of inspection records, their QR code, and the PDF step."""

import base64
import hashlib
import re
import stat
import sys
import uuid

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from craftvision.certify.label import decode_qr
from craftvision.certify.record import RECORD_FORMAT, sign
from craftvision.certify.report import ReportError, qr_data_uri, write_report

KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def sample(tmp_path):
    folder = tmp_path / "product"
    (folder / "fibre").mkdir(parents=True)
    cv2.imwrite(str(folder / "fibre" / "a.png"), np.full((40, 60, 3), 220, np.uint8))
    cv2.imwrite(str(folder / "fibre" / "b.png"), np.full((40, 60, 3), 90, np.uint8))
    return folder


@pytest.fixture
def record(sample):
    from craftvision.certify.record import sha256_file

    diameters = np.random.default_rng(0).normal(13.5, 1.5, 120).round(2).tolist()
    body = {
        "format": RECORD_FORMAT,
        "record_id": "0b7c3e2a-1111-4222-8333-944445555666",
        "label": {"id": "JK-PSH-2024-000123", "source": "id"},
        "lab": "LAB-01",
        "operator": "A. <Bhat>",
        "created": "2025-03-01T10:00:00Z",
        "images": [
            {
                "file": f"fibre/{name}",
                "modality": "fibre",
                "sha256": sha256_file(sample / "fibre" / name),
                "result": {"label": "pashmina", "verdict": "genuine", "genuine_probability": 0.97},
            }
            for name in ("a.png", "b.png")
        ],
        "bundles": [
            {"modality": "fibre", "name": "fibre", "created": "", "weights_sha256": "ab" * 32}
        ],
        "measurements": {"calibrated": True, "fibre": {"mean_um": 13.5, "diameters_um": diameters}},
        "sample": {"verdict": "genuine", "reasons": ["fibre: genuine — all 2 photo(s) genuine"]},
        "software": {"craftvision": "test"},
    }
    return sign(body, KEY)


def _data_uris(html):
    return re.findall(r"data:image/(?:png|jpeg);base64,([A-Za-z0-9+/=]+)", html)


def test_report_is_self_contained(record, sample, tmp_path):
    files = write_report(record, tmp_path / "out" / "report.html", images=sample)
    html = files.html.read_text()
    assert "JK-PSH-2024-000123" in html and "GENUINE" in html
    assert "A. &lt;Bhat&gt;" in html  # escaped
    assert "src='http" not in html and 'src="http' not in html
    assert len(_data_uris(html)) == 3  # two photos and the QR code
    assert "<svg" in html and "120 fibres" in html  # diameter histogram
    assert "mean_um" in html
    assert files.pdf is None and files.notes == []


def _decoded_png(uri):
    image = cv2.imdecode(np.frombuffer(base64.b64decode(uri), np.uint8), cv2.IMREAD_GRAYSCALE)
    return decode_qr(image)[0]


def test_report_qr_encodes_record_id_and_hash(record, tmp_path):
    html = write_report(record, tmp_path / "report.html").html.read_text()
    qr = next(uri for uri in _data_uris(html) if uri.startswith("iVBOR"))  # the PNG one
    assert _decoded_png(qr) == f"craftvision-record:{record.record_id}?sha256={record.sha256}"


def test_every_record_qr_reads_back():
    # OpenCV 5.1's QRCodeDetector, on the code as drawn, misreads about 2 % of perfect codes (3
    # of these 60: 163, 186 and 218); the library's reader, which tries other views of the photo
    # and QRCodeDetectorAruco, must read them all.
    payloads = [
        f"craftvision-record:{uuid.UUID(int=i * 7919 + 12345)}"
        f"?sha256={hashlib.sha256(str(i).encode()).hexdigest()}"
        for i in range(160, 220)
    ]
    misread = [p for p in payloads if _decoded_png(qr_data_uri(p).split(",", 1)[1]) != p]
    assert misread == []


def test_altered_photo_is_not_shown(record, sample, tmp_path):
    cv2.imwrite(str(sample / "fibre" / "b.png"), np.zeros((40, 60, 3), np.uint8))
    html = write_report(record, tmp_path / "report.html", images=sample).html.read_text()
    assert "does not match the record" in html
    assert len(_data_uris(html)) == 2


def test_heatmaps_are_inlined(record, sample, tmp_path):
    heat = tmp_path / "heat"
    heat.mkdir()
    cv2.imwrite(str(heat / "a.heat.png"), np.zeros((20, 20, 3), np.uint8))
    html = write_report(
        record, tmp_path / "report.html", images=sample, heatmaps=heat
    ).html.read_text()
    assert "heatmap of fibre/a.png" in html
    assert "heatmap of fibre/b.png" not in html


def test_pdf_is_skipped_with_a_note_without_an_engine(record, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    files = write_report(record, tmp_path / "report.html", pdf=True)
    assert files.pdf is None
    assert "no PDF engine" in files.notes[0]


def test_pdf_is_printed_by_a_headless_browser(record, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "chromium"
    fake.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do case "$arg" in --print-to-pdf=*) '
        'printf "%%PDF-1.4 fake" > "${arg#--print-to-pdf=}";; esac; done\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir))
    files = write_report(record, tmp_path / "report.html", pdf=True)
    assert files.pdf == tmp_path / "report.pdf"
    assert files.pdf.read_bytes().startswith(b"%PDF")
    assert not list(tmp_path.glob(".report.pdf.*"))


def test_report_of_a_mangled_record_is_refused(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ReportError, match=r"bad\.json: not a JSON record .*; no report written"):
        write_report(tmp_path / "bad.json", tmp_path / "bad.html")
