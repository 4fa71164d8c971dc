"""`networkcore rate` as a CPO or partner runs it: real process, files in, JSON out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.vectors import OCPI_TARIFFS

VECTORS = OCPI_TARIFFS


def networkcore(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_rate_prints_the_totals_and_breakdown(tmp_path: Path) -> None:
    done = networkcore(
        "rate",
        "--tariff",
        str(VECTORS / "step_size" / "tariff.json"),
        "--cdr",
        str(VECTORS / "step_size" / "cdr1.json"),
        "--four-decimals",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["total_cost"] == {"excl_vat": "0.5502", "incl_vat": "0.5502"}
    assert report["total_parking_cost"]["excl_vat"] == "0.2500"
    assert [line["dimension"] for line in report["breakdown"]] == ["TIME", "TIME", "PARKING_TIME"]
    # Only the fields rating needs, in the Location's time zone, rounded to cents by default.
    minimal = tmp_path / "periods.json"
    minimal.write_text(
        json.dumps(
            {
                "start_date_time": "2026-06-01T14:55:00Z",
                "end_date_time": "2026-06-01T15:07:00Z",
                "charging_periods": [
                    {"start_date_time": "2026-06-01T14:55:00Z", "dimensions": [{"type": "TIME", "volume": 0.0834}]},
                    {"start_date_time": "2026-06-01T15:00:00Z", "dimensions": [{"type": "TIME", "volume": 0.0834}]},
                    {
                        "start_date_time": "2026-06-01T15:02:00Z",
                        "dimensions": [{"type": "PARKING_TIME", "volume": 0.0334}],
                    },
                ],
            }
        )
    )
    zurich = networkcore(
        "rate",
        "--tariff",
        str(VECTORS / "step_size" / "tariff.json"),
        "--cdr",
        str(minimal),
        "--time-zone",
        "Europe/Zurich",
    )
    assert zurich.returncode == 0, zurich.stderr
    assert json.loads(zurich.stdout)["total_cost"]["excl_vat"] == "0.55"


def test_rate_refuses_a_bad_tariff_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "tariff.json"
    bad.write_text(
        json.dumps(
            {
                "currency": "EUR",
                "elements": [
                    {"price_components": [{"type": "ENERGY", "price": 1}], "restrictions": {"dayOfWeek": ["MONDAY"]}}
                ],
            }
        )
    )
    done = networkcore("rate", "--tariff", str(bad), "--cdr", str(VECTORS / "step_size" / "cdr1.json"))
    assert done.returncode == 2
    assert "restrictions.dayOfWeek: unknown field" in done.stderr
