"""The data converter every process connects with: the SDK's pydantic conversion, with its parts built once."""

from __future__ import annotations

from decimal import Decimal

from temporalio.contrib.pydantic import PydanticPayloadConverter

from adapters.temporal_client import DATA_CONVERTER, SharedPydanticPayloadConverter
from tests.workflows.sandbox_probe import Amount


def test_every_payload_converter_built_from_the_class_shares_one_json_converter() -> None:
    first, second = SharedPydanticPayloadConverter(), SharedPydanticPayloadConverter()
    assert first.converters[b"json/plain"] is second.converters[b"json/plain"]
    assert list(first.converters) == list(PydanticPayloadConverter().converters)  # the same encodings, in order
    assert DATA_CONVERTER.payload_converter_class is SharedPydanticPayloadConverter


def test_it_converts_exactly_as_the_sdks_pydantic_converter() -> None:
    value = Amount(value=Decimal("10.05"), currency="EUR")
    [ours] = SharedPydanticPayloadConverter().to_payloads([value])
    assert ours == PydanticPayloadConverter().to_payloads([value])[0]
    assert SharedPydanticPayloadConverter().from_payloads([ours], [Amount]) == [value]
    assert DATA_CONVERTER.payload_converter.from_payloads([ours], [Amount]) == [value]
