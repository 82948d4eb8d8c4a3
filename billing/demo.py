"""The demo's billing plans, one per demo client, in three of the ways answering services bill:
Northside per second of talk and wrap-up; Bayview in whole minutes rounded up with the first 30
calls under 30 seconds free; Harper & Cole in whole minutes plus a wrap-up minute per call,
with 200 minutes included and cheaper minutes above 1,000. Idempotent (public schema)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from billing.platform.models import BillingPlan, PlanAssignment, PlanTier
from tenants.models import Client

PLANS = {
    "northside": ("Per second, talk and wrap-up", {
        "increment_seconds": BillingPlan.Increment.SECOND, "minute_rate": Decimal("1.05"),
        "message_fee": Decimal("0.50"), "dispatch_fee": Decimal("2.00"), "text_fee": Decimal("0.05"),
        "attempt_fee": Decimal("0.10")}, []),
    "bayview": ("Whole minutes, 30 short calls free", {
        "increment_seconds": BillingPlan.Increment.MINUTE, "free_short_calls": 30, "short_call_seconds": 30,
        "minute_rate": Decimal("1.15"), "text_fee": Decimal("0.05"), "base_fee": Decimal("49.00")}, []),
    "harpercole": ("Minutes plus a wrap-up minute, 200 included", {
        "increment_seconds": BillingPlan.Increment.MINUTE, "count_wrap_up": False, "per_call_seconds": 60,
        "included_minutes": 200, "minute_rate": Decimal("0.99"), "base_fee": Decimal("199.00"),
        "message_fee": Decimal("0.25")}, [(1000, Decimal("0.89"))]),
}


def billing_demo_seed(clients: dict[str, Client]) -> None:
    """Each demo client on its plan (what exists is left alone)."""
    with transaction.atomic():
        for slug, (name, fields, tiers) in PLANS.items():
            client = clients.get(slug)
            if client is None:
                continue
            plan, created = BillingPlan.objects.get_or_create(name=name, defaults=fields)
            if created:
                PlanTier.objects.bulk_create([PlanTier(plan=plan, above_minutes=above, minute_rate=rate)
                                              for above, rate in tiers])
            PlanAssignment.objects.get_or_create(client=client, defaults={"plan": plan})
