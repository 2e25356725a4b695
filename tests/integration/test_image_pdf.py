"""The production image can render invoices: the Debian packages deploy/Dockerfile installs are exactly
what WeasyPrint loads to render an invoice PDF here (its libraries and the template's font).

How close this is to "inside the image": no Docker engine runs in CI, so the PDF is rendered on this
machine, not in a container. The test proves that (1) this machine runs the image's Debian release, (2)
the render used only libraries and fonts owned by packages in the Dockerfile's apt list (found with
dpkg), and (3) every package of that list is one the render needed. What it cannot prove is that the
slim base lacks nothing else (e.g. a transitive library apt would pull in anyway).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from activities.invoices.documents import invoice_pdf
from models.base import unit_of_work
from models.billing import Invoice
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import make_operator

DOCKERFILE = Path(__file__).resolve().parents[2] / "deploy" / "Dockerfile"
# The shared libraries WeasyPrint opens itself (weasyprint/text/ffi.py); the rest come as their dependencies.
WEASYPRINT_LIBRARIES = (
    "libgobject-2.0.so",
    "libpango-1.0.so",
    "libpangoft2-1.0.so",
    "libharfbuzz.so",
    "libharfbuzz-subset.so",
    "libfontconfig.so",
)
# WeasyPrint renders without the subsetter (with a warning; larger PDFs): a machine lacking it still checks
# the rest. This machine's tests/CI have it (apt-get install libharfbuzz-subset0), like the image.
OPTIONAL = {"libharfbuzz-subset.so": "libharfbuzz-subset0"}

pytestmark = pytest.mark.skipif(
    shutil.which("dpkg") is None or shutil.which("fc-match") is None,
    reason="needs a Debian machine (dpkg, fc-match) to compare with the image's Debian packages",
)


def runtime_stage() -> str:
    text = DOCKERFILE.read_text()
    return text[text.rindex("\nFROM ") :]


def image_release() -> str:
    (tag,) = re.findall(r"^FROM python:3\.11-slim-(\w+) AS runtime$", runtime_stage(), re.M)
    return tag


def image_packages() -> set[str]:
    (command,) = re.findall(r"apt-get install ([^&]*)", runtime_stage())
    return {word for word in command.replace("\\", " ").split() if not word.startswith("-")}


def owner(path: str) -> str:
    found = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, check=True).stdout
    return found.split(":")[0]


def loaded_libraries() -> dict[str, str]:
    """Each WeasyPrint library -> the file this process mapped for it."""
    mapped = {line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines() if "/" in line}
    return {
        name: path
        for name in WEASYPRINT_LIBRARIES
        for path in mapped
        if Path(path).name.startswith(name + ".")
    }


def embedded_fonts(pdf: bytes) -> set[str]:
    """The font names in the PDF (their subset prefix dropped), from plain and deflated objects."""
    chunks = [pdf]
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(stream.group(1)))
        except zlib.error:
            continue
    return {
        name.decode()
        for chunk in chunks
        for name in re.findall(rb"/FontName\s*/(?:[A-Z]{6}\+)?([\w-]+)", chunk)
    }


def test_the_images_packages_are_what_an_invoice_pdf_needs(database_url: str) -> None:
    release = re.search(r"VERSION_CODENAME=(\w+)", Path("/etc/os-release").read_text())
    assert release and release.group(1) == image_release(), (
        f"this machine runs Debian {release and release.group(1)}, the image {image_release()}: "
        "move the image's FROM tags to this release (or run this on the image's)"
    )
    tenant = make_operator(database_url)
    account = make_account(database_url, tenant.organisation_id, language="es", display_name="Ana Ruiz")
    invoice_id = make_invoice(database_url, account, [Line("Televisión básica — Fibra 600 Mb", 2999)])
    with unit_of_work(database_url) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        pdf = invoice_pdf(session, invoice)
    assert pdf.startswith(b"%PDF")

    libraries = loaded_libraries()
    missing_optional = {
        OPTIONAL[name] for name in set(WEASYPRINT_LIBRARIES) - set(libraries) if name in OPTIONAL
    }
    assert set(libraries) | {n for n in OPTIONAL if OPTIONAL[n] in missing_optional} == set(
        WEASYPRINT_LIBRARIES
    ), f"WeasyPrint did not load {set(WEASYPRINT_LIBRARIES) - set(libraries)}"
    fonts = embedded_fonts(pdf)
    assert fonts and all(font.startswith("DejaVu") for font in fonts), fonts  # no fallback font
    font_files = {
        subprocess.run(
            ["fc-match", "-f", "%{file}", font.replace("-", " ")], capture_output=True, text=True, check=True
        ).stdout
        for font in fonts
    }
    needed = {owner(path) for path in [*libraries.values(), *font_files]}
    assert needed == image_packages() - missing_optional, (
        f"deploy/Dockerfile installs {sorted(image_packages())}; the render used {sorted(needed)}"
    )
