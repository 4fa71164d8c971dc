"""EInvoiceDeliveryWorkflow: started by the ``networkcore-einvoice-delivery`` Schedule every
``einvoice_delivery_s`` while an outbox is configured, it writes the e-invoices issued since to the outbox
(``activities.einvoices``)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.einvoices import EInvoiceDeliveryActivities
    from messages.einvoices import EInvoiceDelivery, EInvoiceDeliveryResult
    from workflows.policies import EINVOICE_DELIVERY_HEARTBEAT, EINVOICE_DELIVERY_RETRY, EINVOICE_DELIVERY_TIMEOUT

EINVOICE_SCHEDULE_ID = "networkcore-einvoice-delivery"


@workflow.defn
class EInvoiceDeliveryWorkflow:
    @workflow.run
    async def run(self, run: EInvoiceDelivery) -> EInvoiceDeliveryResult:
        return await workflow.execute_activity_method(
            EInvoiceDeliveryActivities.deliver_einvoices,
            run,
            start_to_close_timeout=EINVOICE_DELIVERY_TIMEOUT,
            heartbeat_timeout=EINVOICE_DELIVERY_HEARTBEAT,
            retry_policy=EINVOICE_DELIVERY_RETRY,
        )
