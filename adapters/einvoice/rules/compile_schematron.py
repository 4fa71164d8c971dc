"""Compile the vendored XRechnung and Peppol BIS Schematron sources to XSLT 2.0 validation stylesheets.

Run once after updating a vendored source; the compiled stylesheets are committed, nothing compiles at run time:

    .venv/bin/python adapters/einvoice/rules/compile_schematron.py

It repeats KoSIT's build (xrechnung-schematron build.xml, targets merge-peppol-rules-with-xr-rules and
compile-schematron-rules): the whitelisted Peppol rules are merged into the XRechnung schema with KoSIT's
peppol-into-xr.xsl, then SchXslt compiles each schema. SchXslt binds the `let`s of active patterns as global
variables, which is what common.sch's "variable-pattern" relies on.
"""

import logging
import shutil
import tempfile
import time
from pathlib import Path

from saxonche import PySaxonProcessor

RULES = Path(__file__).resolve().parent
SCHXSLT_PIPELINE = RULES / "schematron-compiler" / "2.0" / "pipeline-for-svrl.xsl"
XRECHNUNG = RULES / "xrechnung"
PEPPOL = RULES / "peppol"

# Values of the Ant filter tokens in the XRechnung sources (xrechnung-schematron v2.5.0 build.xml).
XRECHNUNG_SCHEMATRON_VERSION = "2.5.0"
XRECHNUNG_VERSION = "3.0.2"

logger = logging.getLogger(__name__)


def _transform(
    processor: PySaxonProcessor, stylesheet: Path, source: Path, output: Path, params: dict[str, str | bool]
) -> None:
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(stylesheet))
    for name, value in params.items():
        xdm = processor.make_boolean_value(value) if isinstance(value, bool) else processor.make_string_value(value)
        executable.set_parameter(name, xdm)
    output.parent.mkdir(parents=True, exist_ok=True)
    executable.transform_to_file(source_file=str(source), output_file=str(output))
    if not output.is_file():
        raise RuntimeError(f"{stylesheet.name} wrote nothing for {source}")


def _compile(processor: PySaxonProcessor, schematron: Path, output: Path) -> None:
    """SchXslt 1.10.1 pipeline (include, expand, compile) to an SVRL-reporting XSLT."""
    started = time.perf_counter()
    # No compile metadata: it stamps the compile time into the stylesheet, and the output should be reproducible.
    _transform(processor, SCHXSLT_PIPELINE, schematron, output, {"schxslt.compile.metadata": False})
    logger.info("%s: %d kB in %.1f s", output.name, output.stat().st_size // 1024, time.perf_counter() - started)


def _merged_xrechnung_schemas(processor: PySaxonProcessor, build: Path) -> dict[str, Path]:
    """KoSIT's layout: peppol-into-xr.xsl reads rule-list.xml beside itself and ../../build/bis/*.sch."""
    for name in ("peppol-into-xr.xsl", "rule-list.xml"):
        shutil.copy(XRECHNUNG / "src" / "xsl" / name, build / "src" / "xsl" / name)
    for syntax in ("UBL", "CII"):
        shutil.copy(PEPPOL / "src" / f"PEPPOL-EN16931-{syntax}.sch", build / "build" / "bis")
    schematron = build / "build" / "schematron"
    shutil.copy(XRECHNUNG / "src" / "common.sch", schematron)
    merged = {}
    for syntax in ("UBL", "CII"):
        name = f"XRechnung-{syntax}-validation.sch"
        text = (XRECHNUNG / "src" / syntax.lower() / name).read_text(encoding="utf-8")
        filtered = schematron / "tmp" / name
        filtered.write_text(
            text.replace("@xr-schematron.version.full@", XRECHNUNG_SCHEMATRON_VERSION).replace(
                "@xrechnung.version@", XRECHNUNG_VERSION
            ),
            encoding="utf-8",
        )
        # The merged schema includes "../common.sch", so it must sit one level below build/schematron.
        merged[syntax] = schematron / syntax.lower() / name
        _transform(
            processor, build / "src" / "xsl" / "peppol-into-xr.xsl", filtered, merged[syntax], {"syntax": syntax}
        )
    return merged


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="compile-schematron-") as tmp, PySaxonProcessor(license=False) as proc:
        build = Path(tmp)
        for folder in ("src/xsl", "build/bis", "build/schematron/tmp"):
            (build / folder).mkdir(parents=True)
        for syntax, schema in _merged_xrechnung_schemas(proc, build).items():
            _compile(proc, schema, XRECHNUNG / f"XRechnung-{syntax}-validation.xsl")
        for syntax in ("UBL", "CII"):
            _compile(proc, PEPPOL / "src" / f"PEPPOL-EN16931-{syntax}.sch", PEPPOL / f"PEPPOL-EN16931-{syntax}.xslt")


if __name__ == "__main__":
    main()
