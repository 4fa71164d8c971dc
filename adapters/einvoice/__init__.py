"""Electronic invoices: EN 16931 syntaxes (CII, UBL), their CIUS rules (XRechnung, Peppol BIS) and validation."""
