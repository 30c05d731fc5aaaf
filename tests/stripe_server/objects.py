"""The objects the fake answers with, in the shapes of Stripe API version 2026-05-27.dahlia
(the version dj-stripe 2.11 pins: djstripe.settings.DjstripeSettings.DEFAULT_STRIPE_API_VERSION).

Shapes as of that version, where they differ from the plan-era ones localstripe serves:
- a Subscription's `current_period_start/end` live on each item (since 2025-03-31.basil);
- an Invoice names its subscription under `parent.subscription_details` (no `subscription`,
  `charge` or `paid` fields any more), and its lines carry `parent` and `pricing`;
- invoice items name their price under `pricing.price_details`.
Only the fields Tollgate and dj-stripe read are filled with care; the others keep Stripe's
names and neutral values so a consumer that reads them gets what Stripe would send.
"""

import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{''.join(secrets.choice(_ALNUM) for _ in range(length))}"


def listing(data: list, url: str, has_more: bool = False) -> dict:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def account(*, account_id: str, created: int) -> dict:
    return {
        "id": account_id, "object": "account", "business_profile": {"name": "Tollgate (fake Stripe)", "url": None},
        "business_type": "company", "capabilities": {"card_payments": "active"}, "charges_enabled": True,
        "country": "US", "created": created, "default_currency": "usd", "details_submitted": True,
        "email": "billing@tollgate.test", "metadata": {}, "payouts_enabled": True,
        "settings": {"dashboard": {"display_name": "Tollgate (fake Stripe)", "timezone": "Etc/UTC"}},
        "type": "standard",
    }


def customer(*, created: int, email: str, name: str | None, metadata: dict, livemode: bool) -> dict:
    return {
        "id": new_id("cus", 14), "object": "customer", "address": None, "balance": 0, "created": created,
        "currency": None, "default_source": None, "delinquent": False, "description": None, "discount": None,
        "email": email, "invoice_prefix": new_id("X", 6).split("_")[1].upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "livemode": livemode, "metadata": metadata, "name": name, "next_invoice_sequence": 1, "phone": None,
        "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None,
    }


def product(*, product_id: str | None, created: int, name: str, metadata: dict, livemode: bool) -> dict:
    return {
        "id": product_id or new_id("prod", 14), "object": "product", "active": True, "created": created,
        "default_price": None, "description": None, "images": [], "livemode": livemode, "marketing_features": [],
        "metadata": metadata, "name": name, "package_dimensions": None, "shippable": None,
        "statement_descriptor": None, "tax_code": None, "type": "service", "unit_label": None, "updated": created,
        "url": None,
    }


def price(*, created: int, product_id: str, unit_amount: int, currency: str, interval: str | None,
          lookup_key: str | None, nickname: str | None, metadata: dict, livemode: bool) -> dict:
    recurring = ({"interval": interval, "interval_count": 1, "meter": None, "trial_period_days": None,
                  "usage_type": "licensed"} if interval else None)
    return {
        "id": new_id("price", 24), "object": "price", "active": True, "billing_scheme": "per_unit",
        "created": created, "currency": currency, "custom_unit_amount": None, "livemode": livemode,
        "lookup_key": lookup_key, "metadata": metadata, "nickname": nickname, "product": product_id,
        "recurring": recurring, "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None,
        "type": "recurring" if interval else "one_time", "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def checkout_session(*, created: int, base_url: str, customer_id: str, price_obj: dict, quantity: int,
                     success_url: str, cancel_url: str | None, client_reference_id: str | None, metadata: dict,
                     subscription_data: dict, livemode: bool) -> dict:
    session_id = new_id("cs_test" if not livemode else "cs_live", 58)
    amount = price_obj["unit_amount"] * quantity
    return {
        "id": session_id, "object": "checkout.session", "adaptive_pricing": {"enabled": False},
        "after_expiration": None, "allow_promotion_codes": None, "amount_subtotal": amount, "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None, "cancel_url": cancel_url, "client_reference_id": client_reference_id,
        "client_secret": None, "consent": None, "consent_collection": None, "created": created,
        "currency": price_obj["currency"], "custom_fields": [], "custom_text": {}, "customer": customer_id,
        "customer_creation": None, "customer_details": None, "customer_email": None, "discounts": [],
        "expires_at": created + 24 * 3600, "invoice": None, "invoice_creation": None, "livemode": livemode,
        "locale": None, "metadata": metadata, "mode": "subscription", "payment_intent": None, "payment_link": None,
        "payment_method_collection": "always", "payment_method_types": ["card"], "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False}, "recovered_from": None, "setup_intent": None,
        "shipping_address_collection": None, "shipping_cost": None, "status": "open", "submit_type": None,
        "subscription": None, "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}, "ui_mode": "hosted",
        "url": f"{base_url}/c/pay/{session_id}",
        # Not part of Stripe's object: what the session will subscribe to, kept out of answers.
        "_line": {"price": price_obj["id"], "quantity": quantity}, "_subscription_data": subscription_data,
    }


def checkout_line_items(session: dict, price_obj: dict) -> dict:
    line = session["_line"]
    amount = price_obj["unit_amount"] * line["quantity"]
    item = {"id": "li_" + session["id"][-24:], "object": "item", "amount_discount": 0, "amount_subtotal": amount,
            "amount_tax": 0, "amount_total": amount, "currency": price_obj["currency"],
            "description": price_obj.get("nickname") or "", "discounts": [], "price": price_obj,
            "quantity": line["quantity"]}
    return listing([item], f"/v1/checkout/sessions/{session['id']}/line_items")


def portal_session(*, created: int, base_url: str, customer_id: str, return_url: str | None,
                   livemode: bool) -> dict:
    session_id = new_id("bps", 24)
    return {
        "id": session_id, "object": "billing_portal.session", "configuration": "bpc_fakeconfiguration0000000",
        "created": created, "customer": customer_id, "flow": None, "livemode": livemode, "locale": None,
        "on_behalf_of": None, "return_url": return_url, "url": f"{base_url}/p/session/{session_id}",
    }


def subscription_item(*, created: int, subscription_id: str, price_obj: dict, quantity: int,
                      period: tuple[int, int]) -> dict:
    return {
        "id": new_id("si", 14), "object": "subscription_item", "billing_thresholds": None, "created": created,
        "current_period_end": period[1], "current_period_start": period[0], "discounts": [], "metadata": {},
        "price": price_obj, "quantity": quantity, "subscription": subscription_id, "tax_rates": [],
    }


def subscription(*, created: int, customer_id: str, metadata: dict, livemode: bool, status: str,
                 trial: tuple[int, int] | None) -> dict:
    sub_id = new_id("sub", 24)
    return {
        "id": sub_id, "object": "subscription", "application": None, "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": created, "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic"}, "billing_thresholds": None, "cancel_at": None,
        "cancel_at_period_end": False, "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically", "created": created, "currency": "usd",
        "customer": customer_id, "days_until_due": None, "default_payment_method": None, "default_source": None,
        "default_tax_rates": [], "description": None, "discounts": [], "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": listing([], f"/v1/subscription_items?subscription={sub_id}"), "latest_invoice": None,
        "livemode": livemode, "metadata": metadata, "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None, "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None, "pending_update": None,
        "schedule": None, "start_date": created, "status": status, "test_clock": None, "transfer_data": None,
        "trial_end": trial[1] if trial else None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": trial[0] if trial else None,
    }


def invoice_line(*, invoice_id: str, amount: int, currency: str, description: str, period: tuple[int, int],
                 livemode: bool, subscription_id: str | None = None, subscription_item_id: str | None = None,
                 price_obj: dict | None = None, invoice_item_id: str | None = None, proration: bool = False,
                 quantity: int = 1) -> dict:
    if invoice_item_id:
        parent = {"invoice_item_details": {"invoice_item": invoice_item_id, "proration": proration,
                                           "proration_details": {"credited_items": None},
                                           "subscription": subscription_id},
                  "subscription_item_details": None, "type": "invoice_item_details"}
    else:
        parent = {"invoice_item_details": None,
                  "subscription_item_details": {"invoice_item": None, "proration": proration,
                                                "proration_details": {"credited_items": None},
                                                "subscription": subscription_id,
                                                "subscription_item": subscription_item_id},
                  "type": "subscription_item_details"}
    pricing = ({"price_details": {"price": price_obj["id"], "product": price_obj["product"]}, "type": "price_details",
                "unit_amount_decimal": str(price_obj["unit_amount"])} if price_obj else None)
    return {
        "id": new_id("il", 24), "object": "line_item", "amount": amount, "currency": currency,
        "description": description, "discount_amounts": [], "discountable": True, "discounts": [],
        "invoice": invoice_id, "livemode": livemode, "metadata": {}, "parent": parent,
        "period": {"end": period[1], "start": period[0]}, "pretax_credit_amounts": [], "pricing": pricing,
        "quantity": quantity, "taxes": [],
    }


def invoice(*, created: int, base_url: str, customer_obj: dict, subscription_id: str | None,
            billing_reason: str, period: tuple[int, int], livemode: bool, number: str) -> dict:
    invoice_id = new_id("in", 24)
    return {
        "id": invoice_id, "object": "invoice", "account_country": "US", "account_name": "Tollgate (fake Stripe)",
        "account_tax_ids": None, "amount_due": 0, "amount_overpaid": 0, "amount_paid": 0, "amount_remaining": 0,
        "amount_shipping": 0, "application": None, "attempt_count": 0, "attempted": False, "auto_advance": True,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None, "provider": None,
                          "status": None},
        "automatically_finalizes_at": None, "billing_reason": billing_reason,
        "collection_method": "charge_automatically", "created": created, "currency": "usd", "custom_fields": None,
        "customer": customer_obj["id"], "customer_address": None, "customer_email": customer_obj["email"],
        "customer_name": customer_obj["name"], "customer_phone": None, "customer_shipping": None,
        "customer_tax_exempt": "none", "customer_tax_ids": [], "default_payment_method": None,
        "default_source": None, "default_tax_rates": [], "description": None, "discounts": [], "due_date": None,
        "effective_at": None, "ending_balance": None, "footer": None, "from_invoice": None,
        "hosted_invoice_url": f"{base_url}/i/{invoice_id}", "invoice_pdf": f"{base_url}/i/{invoice_id}/pdf",
        "issuer": {"type": "self"}, "last_finalization_error": None, "latest_revision": None,
        "lines": listing([], f"/v1/invoices/{invoice_id}/lines"), "livemode": livemode, "metadata": {},
        "next_payment_attempt": None, "number": number, "on_behalf_of": None,
        "parent": ({"quote_details": None, "subscription_details": {"metadata": {}, "subscription": subscription_id},
                    "type": "subscription_details"} if subscription_id else None),
        "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        "period_end": period[1], "period_start": period[0], "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0, "receipt_number": None, "rendering": None, "shipping_cost": None,
        "shipping_details": None, "starting_balance": 0, "statement_descriptor": None, "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None,
                               "voided_at": None},
        "subtotal": 0, "subtotal_excluding_tax": 0, "test_clock": None, "total": 0, "total_discount_amounts": [],
        "total_excluding_tax": 0, "total_pretax_credit_amounts": [], "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def invoice_item(*, created: int, customer_id: str, amount: int, currency: str, description: str | None,
                 metadata: dict, period: tuple[int, int], livemode: bool, subscription_id: str | None) -> dict:
    return {
        "id": new_id("ii", 24), "object": "invoiceitem", "amount": amount, "currency": currency,
        "customer": customer_id, "date": created, "description": description, "discountable": True,
        "discounts": [], "invoice": None, "livemode": livemode, "metadata": metadata, "net_amount": amount,
        "parent": ({"subscription_details": {"subscription": subscription_id, "subscription_item": None},
                    "type": "subscription_details"} if subscription_id else None),
        "period": {"end": period[1], "start": period[0]}, "pricing": None, "proration": False, "quantity": 1,
        "tax_rates": [], "test_clock": None,
    }


def webhook_endpoint(*, created: int, url: str, enabled_events: list, api_version: str | None, metadata: dict,
                     description: str | None, livemode: bool) -> dict:
    return {
        "id": new_id("we", 24), "object": "webhook_endpoint", "api_version": api_version, "application": None,
        "created": created, "description": description, "enabled_events": enabled_events, "livemode": livemode,
        "metadata": metadata, "secret": "whsec_" + "".join(secrets.choice(_ALNUM) for _ in range(32)),
        "status": "enabled", "url": url,
    }


def event(*, created: int, type_: str, obj: dict, previous: dict | None, api_version: str, livemode: bool,
          request: dict) -> dict:
    data: dict = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": new_id("evt", 24), "object": "event", "api_version": api_version, "context": None,
        "created": created, "data": data, "livemode": livemode, "pending_webhooks": 1, "request": request,
        "type": type_,
    }
