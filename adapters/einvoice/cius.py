"""The vendored CIUS rules as compiled XSLT 2.0 stylesheets that report in SVRL (sources, licences and how they
were compiled: rules/xrechnung/README.md, rules/peppol/README.md). They run after the EN 16931 rules."""

from pathlib import Path

_RULES = Path(__file__).resolve().parent / "rules"

CIUS_STYLESHEETS: dict[str, Path] = {
    "xrechnung-cii": _RULES / "xrechnung" / "XRechnung-CII-validation.xsl",
    "xrechnung-ubl": _RULES / "xrechnung" / "XRechnung-UBL-validation.xsl",
    "peppol-ubl": _RULES / "peppol" / "PEPPOL-EN16931-UBL.xslt",
    "peppol-cii": _RULES / "peppol" / "PEPPOL-EN16931-CII.xslt",
}
