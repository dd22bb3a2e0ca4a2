"""Time the package PDF (page images + PDF/A + text layer) per page on real scans, in CPU time.

    .venv/bin/python -m tools.pdf_time ../shared/corpus/dev/scan_0003.jpg ../shared/corpus/dev/scan_0002.pdf

Each file goes through intake's real page analysis once (OCR: seconds per page, not timed);
then ``render_pdf`` runs once to warm up (font subset, blank-form text) and five times
timed. CPU time, because the machine's other work makes wall time noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from intake import capture
from intake.config import Config
from intake.models import Document
from intake.pipeline import analyse_page
from intake.routing.templates import load_templates
from intake.transport.package import render_pdf

_PACKAGE_ID = "00000000-0000-4000-8000-000000000000"


def _document(path: Path, config: Config, work: Path) -> Document:
    source = capture.inspect(path, config.capture)
    pages = [analyse_page(source, number, config, work) for number in range(1, source.page_count + 1)]
    form = pages[0].identity.form_id
    template = next((t for t in load_templates() if t.id == form), None)
    fields = {name: value for page in pages for name, value in page.fields.items()}
    authority, code = (template.authority, template.code) if template else (None, None)
    return Document(source=source, pages=pages, form_id=form, authority=authority, code=code, fields=fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    config, templates, now = Config(), load_templates(), dt.datetime.now(dt.UTC)
    total_pages, total_s = 0, 0.0
    with tempfile.TemporaryDirectory() as work:
        for path in args.files:
            document = _document(path, config, Path(work))
            render_pdf(document, templates=templates, package_id=_PACKAGE_ID, created=now)
            runs = []
            for _ in range(5):
                started = time.process_time()
                pdf = render_pdf(document, templates=templates, package_id=_PACKAGE_ID, created=now)
                runs.append(time.process_time() - started)
            seconds, pages = statistics.median(runs), len(document.pages)
            total_pages, total_s = total_pages + pages, total_s + seconds
            print(f"{path.name}: {pages} pages, {seconds * 1000 / pages:.0f} ms/page, {len(pdf) // 1024} KiB")
    print(f"all: {total_s * 1000 / total_pages:.0f} ms/page over {total_pages} pages")


if __name__ == "__main__":
    main()
