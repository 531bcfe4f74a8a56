"""Benchmark: REM import time and peak memory (parse + save), on a scratch database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/segur_bench .venv/bin/python bench/rem_import.py
    .venv/bin/python bench/rem_import.py            # embedded SQLite

Prints a Markdown table for docs/BENCHMARKS.md. The database named in DATABASE_URL is
used as the prefix of a throwaway test database, created and dropped here.
"""

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segur_portal.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("SEGUR_VAR_DIR", "var/bench")

import django

django.setup()

import openpyxl
from django.core.management import call_command
from django.db import connection

from candidatures.models import Dsr
from candidatures.rem_import import parse_rem
from candidatures.services.referentiel import rem_version_import

REALDATA = ROOT.parent / "shared" / "realdata"
ALL_REMS = REALDATA / "ans_rem_va2_prepub_exigences_scenarios_preuves_all_rems.csv"
DRIMBOX = REALDATA / "ans_rem_va2_drimbox_prepub_exigences.csv"
HEADER = [
    "Exigence conditionnelle OUI/NON", "Profil", "ID Section", "Section", "Bloc", "Fonction",
    "Nature de l'exigence", "N° exigence",
    "Énoncé de l'exigence (DOIT) ou de la préconisation (PEUT)", "N° scénario",
    "Scénario de conformité", "N° preuve 1", "Preuve 1", "N° preuve 2", "Preuve 2",
]  # fmt: skip


def synthetic_rows(requirements: int):
    """`requirements` requirements of two scenarios with two proofs each, HTML cells."""
    yield HEADER
    for n in range(requirements):
        statement = f"<p>Le système <b>DOIT</b> respecter la règle n°{n} du guide [INS3].</p>"
        for s in (1, 2):
            scenario = f"SYN.{n:05}.0{s}"
            yield [
                "NON", "Général" if n % 4 else "IAM", f"SEC{n % 12}", f"Section {n % 12}",
                "Bloc", "Fonction", "EXIGENCE", f"SYN.{n:05}", statement, scenario,
                f"<p>Étapes :<br>1. Ouvrir le dossier {n}<br>2. Vérifier</p>",
                f"{scenario}.01", "Démonstration (vidéo ou copies d'écran) du scénario",
                f"{scenario}.02", "Log des transactions",
            ]  # fmt: skip


def openpyxl_xlsx(requirements: int) -> io.BytesIO:
    """The sheet as openpyxl writes it: every text inline in its cell."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Vague 2"
    for row in synthetic_rows(requirements):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def excel_xlsx(requirements: int) -> io.BytesIO:
    """The sheet as Excel and Apache POI (the ANS's export plugin) write it: texts in the
    shared-strings table, cells pointing to it. Built from openpyxl's file."""
    ElementTree.register_namespace("", MAIN_NS)
    source = zipfile.ZipFile(openpyxl_xlsx(requirements))
    sheet = ElementTree.fromstring(source.read("xl/worksheets/sheet1.xml"))
    strings: dict[str, int] = {}
    for cell in sheet.iter(f"{{{MAIN_NS}}}c"):
        if cell.get("t") != "inlineStr":
            continue
        inline = cell.find(f"{{{MAIN_NS}}}is")
        text = "".join(inline.itertext())
        cell.remove(inline)
        cell.set("t", "s")
        ElementTree.SubElement(cell, f"{{{MAIN_NS}}}v").text = str(
            strings.setdefault(text, len(strings))
        )
    table = ElementTree.Element(
        f"{{{MAIN_NS}}}sst", count=str(len(strings)), uniqueCount=str(len(strings))
    )
    for text in strings:
        item = ElementTree.SubElement(table, f"{{{MAIN_NS}}}si")
        ElementTree.SubElement(item, f"{{{MAIN_NS}}}t").text = text
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = ElementTree.tostring(sheet, xml_declaration=True, encoding="UTF-8")
            elif info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdShared" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/sharedStrings" '
                    b'Target="sharedStrings.xml"/></Relationships>',
                )
            target.writestr(info.filename, data)
        target.writestr(
            "xl/sharedStrings.xml",
            ElementTree.tostring(table, xml_declaration=True, encoding="UTF-8"),
        )
    buffer.seek(0)
    return buffer


def import_into(code: str, file, filename: str, label: str, rem: str = "") -> str:
    result = rem_version_import(
        dsr=Dsr.objects.get(code=code), file=file, filename=filename, label=label, rem=rem
    )
    assert result.version is not None, result.parsed.errors[:5]
    return f"{result.version.exigences.count()} exigences enregistrées"


def parse_only(file, filename: str) -> str:
    parsed = parse_rem(file, filename=filename)
    assert parsed.ok, parsed.errors[:5]
    return f"{len(parsed.exigences)} exigences lues"


RUNS = 3
SYNTHETIC = "synthétique : 5 000 exigences × 2 scénarios × 2 preuves (10 000 lignes)"
CASES = {
    "multi-rem": (
        "réel : REM DB du fichier multi-REM (CSV de 8 Mo, 1 712 lignes lues), import complet",
        lambda: import_into(
            "RAD-DRIMBOX-Va2", ALL_REMS.open("rb"), ALL_REMS.name, "bench-DB", "DB"
        ),
    ),
    "drimbox": (
        "réel : REM DRIMbox au gabarit publié (CSV, 257 lignes), import complet",
        lambda: import_into("RAD-DRIMBOX-Va2", DRIMBOX.open("rb"), DRIMBOX.name, "bench"),
    ),
    "excel-parse": (
        f"{SYNTHETIC}, XLSX écrit comme par Excel, lecture seule",
        lambda: parse_only(SHEETS["excel"].open("rb"), "s.xlsx"),
    ),
    "excel-import": (
        f"{SYNTHETIC}, XLSX écrit comme par Excel, import complet",
        lambda: import_into("MDV-LGC-Va2", SHEETS["excel"].open("rb"), "s.xlsx", "bench"),
    ),
    "openpyxl-import": (
        f"{SYNTHETIC}, XLSX écrit par openpyxl (textes en ligne), import complet",
        lambda: import_into("MDV-LGC-Va2", SHEETS["openpyxl"].open("rb"), "s.xlsx", "bench"),
    ),
}
# Written once by the parent process, so that generating them weighs on no measure.
SHEETS = {
    "excel": ROOT / "var" / "bench" / "synthetic-excel.xlsx",
    "openpyxl": ROOT / "var" / "bench" / "synthetic-openpyxl.xlsx",
}


def peak_rss_mib() -> float:
    # VmHWM, not getrusage: Linux carries ru_maxrss over exec from the parent process.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM absent de /proc/self/status")


def run_case(name: str) -> None:
    """One case in this fresh process, on a throwaway database; prints one JSON line."""
    label, run = CASES[name]
    test_db = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        call_command("loaddata", ROOT / "fixtures" / "referentiel.json", verbosity=0)
        before = peak_rss_mib()
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
        peak = peak_rss_mib()
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
    print(json.dumps({"label": label, "seconds": seconds, "rss_mib": peak,
                      "rss_growth_mib": peak - before, "result": result}))  # fmt: skip


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        run_case(sys.argv[2])
        return
    SHEETS["excel"].parent.mkdir(parents=True, exist_ok=True)
    SHEETS["excel"].write_bytes(excel_xlsx(5000).getvalue())
    SHEETS["openpyxl"].write_bytes(openpyxl_xlsx(5000).getvalue())
    rows = []
    for name in CASES:
        runs = []
        for _ in range(RUNS):
            output = subprocess.run(
                [sys.executable, __file__, "--case", name],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs.append(json.loads(output.strip().splitlines()[-1]))
        # This machine's speed varies from one minute to the next: keep the median run.
        rows.append(sorted(runs, key=lambda run: run["seconds"])[RUNS // 2])
    vendor = connection.vendor
    print(f"Base : {vendor} · Python {sys.version.split()[0]} · {os.cpu_count()} cœurs\n")
    print(f"Médiane de {RUNS} exécutions, chacune dans un processus neuf.\n")
    print("| cas | durée (s) | pic RSS du processus (Mio) | dont pendant l’import | résultat |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['label']} | {row['seconds']:.2f} | {row['rss_mib']:.0f} "
            f"| {row['rss_growth_mib']:.0f} | {row['result']} |"
        )


if __name__ == "__main__":
    main()
