"""A Stripe-compatible server on loopback that keeps state, for the tests (DESIGN.md, "Tests").

It answers only the endpoints Tollgate and dj-stripe call, in the shapes of the pinned API
version (objects.py), honours `Idempotency-Key` like Stripe (same key and same request: the
first answer again, with `Idempotent-Replayed: true`; same key, other parameters: a 400
`idempotency_error`), and signs the webhooks it sends like Stripe (`Stripe-Signature:
t=<unix time>,v1=<HMAC-SHA256 of "t.payload" with the endpoint's secret>`).

What happens outside an API call on Stripe's side (a customer paying in Checkout, a renewal, a
card declined) is driven from the test through methods: `checkout_complete`, `period_advance`,
`invoice_pay`, `payments_fail`. Events queue in `outbox` as Stripe would send them and reach
the app's webhook URL only when the test calls `deliver` (so a test can replay, reorder or
tamper with them). Nothing here imports the stripe package: the app reaches this server over
HTTP through STRIPE_API_HOST, as it would reach Stripe.
"""

import calendar
import copy
import hashlib
import hmac
import http.server
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tests.stripe_server import objects
from tests.stripe_server.forms import boolean, decode

API_VERSION = "2026-05-27.dahlia"
KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{24,}$")


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.param:
            error["param"] = self.param
        if self.code:
            error["code"] = self.code
        return {"error": error}


def _missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", param=param, code="resource_missing")


def _public(obj):
    """An object as Stripe shows it: without the fake's own `_` bookkeeping fields."""
    if isinstance(obj, dict):
        return {k: _public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [_public(v) for v in obj]
    return obj


def add_months(ts: int, months: int) -> int:
    """Stripe's calendar period: the same day next month (clamped to the month's last day)."""
    when = datetime.fromtimestamp(ts, UTC)
    month0 = when.month - 1 + months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return int(when.replace(year=year, month=month, day=day).timestamp())


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends with `payload` (docs.stripe.com/webhooks#verify-manually)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def http_sink(url: str, body: bytes, headers: dict) -> int:
    """Send a webhook over HTTP (to a live server); returns the status."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback only)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class FakeStripe:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        self.host, self.port = host, port
        self.api_key = api_key  # None: any well-formed secret key is accepted
        self.lock = threading.RLock()
        self.sink: Callable[[str, bytes, dict], int] = http_sink
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._last_tick = 0
        self.reset()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "FakeStripe":
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = http.server.ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-stripe", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every object, request and event (between tests)."""
        with self.lock:
            self.objects: dict[str, dict] = {}
            self.requests: list[dict] = []
            self.idempotency: dict[tuple[str, str], tuple[str, int, dict]] = {}
            self.events: list[dict] = []
            self.outbox: list[tuple[str, dict]] = []  # (endpoint id, event)
            self.deliveries: list[tuple[str, int]] = []  # (event id, status)
            self.failing_customers: set[str] = set()
            self.account_id = objects.new_id("acct", 16)
            self.invoice_sequence = 0

    # ------------------------------------------------------------------ time and events
    def tick(self) -> int:
        """Stripe's clock for the objects it makes: real seconds, never the same twice, so the
        events of one test are strictly ordered by `created` (tests never sleep)."""
        with self.lock:
            self._last_tick = max(int(time.time()), self._last_tick + 1)
            return self._last_tick

    def emit(self, type_: str, obj: dict, previous: dict | None = None, request: dict | None = None) -> dict:
        with self.lock:
            event = objects.event(created=self.tick(), type_=type_, obj=_public(copy.deepcopy(obj)), previous=previous,
                                  api_version=API_VERSION, livemode=False,
                                  request=request or {"id": None, "idempotency_key": None})
            self.objects[event["id"]] = event
            self.events.append(event)
            for endpoint in self.of_kind("webhook_endpoint"):
                enabled = endpoint["enabled_events"]
                if endpoint["status"] == "enabled" and ("*" in enabled or type_ in enabled):
                    self.outbox.append((endpoint["id"], event))
            return event

    def event_types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def payload(self, event: dict) -> bytes:
        return json.dumps(event, indent=2).encode()

    def deliver(self, events: list[dict] | None = None, *, secret: str | None = None) -> list[int]:
        """POST the queued events (or `events`, again: a replay) to their endpoints, signed with
        the endpoint's secret (or `secret`: a forgery). Returns the statuses."""
        with self.lock:
            if events is None:
                batch, self.outbox = self.outbox, []
            else:
                endpoints = self.of_kind("webhook_endpoint")
                batch = [(endpoint["id"], event) for event in events for endpoint in endpoints]
        statuses = []
        for endpoint_id, event in batch:
            endpoint = self.objects[endpoint_id]
            body = self.payload(event)
            headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                       "Stripe-Signature": sign(body, secret or endpoint["_secret"])}
            status = self.sink(endpoint["url"], body, headers)
            with self.lock:
                self.deliveries.append((event["id"], status))
            statuses.append(status)
        return statuses

    def take_outbox(self) -> list[dict]:
        """The queued events, without sending them (a test delivers them in its own order)."""
        with self.lock:
            batch, self.outbox = self.outbox, []
        return [event for _, event in batch]

    # ------------------------------------------------------------------ state helpers
    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects.values() if o.get("object") == kind]

    def get(self, kind: str, object_id: str, param: str = "id") -> dict:
        obj = self.objects.get(object_id)
        if obj is None or obj.get("object") != kind:
            raise _missing(kind.replace("_", " ").replace(".", " "), object_id, param)
        return obj

    def requests_to(self, method: str, path_prefix: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(path_prefix)]

    # ------------------------------------------------------------------ Stripe-side happenings
    def checkout_complete(self, session_id: str) -> dict:
        """The customer pays in Checkout: a subscription, its first invoice (paid), and the events."""
        with self.lock:
            session = self.get("checkout.session", session_id)
            if session["status"] != "open":
                raise StripeError(400, "This Checkout Session is no longer active.")
            price_obj = self.get("price", session["_line"]["price"])
            data = session["_subscription_data"]
            now = self.tick()
            trial_days = int(data.get("trial_period_days") or 0)
            trial = (now, now + trial_days * 86400) if trial_days else None
            sub = objects.subscription(created=now, customer_id=session["customer"],
                                       metadata=dict(data.get("metadata") or {}), livemode=False,
                                       status="trialing" if trial else "active", trial=trial)
            period = (now, trial[1] if trial else self._period_end(now, price_obj))
            item = objects.subscription_item(created=now, subscription_id=sub["id"], price_obj=price_obj,
                                             quantity=session["_line"]["quantity"], period=period)
            sub["items"]["data"] = [item]
            sub["items"]["total_count"] = 1
            self.objects[sub["id"]] = sub
            self.emit("customer.subscription.created", sub)
            invoice = self._invoice_for(sub, "subscription_create", period, amount=0 if trial else None)
            self._collect(invoice, sub)
            session.update(status="complete", payment_status="paid", subscription=sub["id"], invoice=invoice["id"])
            self.emit("checkout.session.completed", session)
            return sub

    def period_advance(self, subscription_id: str) -> dict:
        """The period ends: renew (a `subscription_cycle` invoice, charged) or, when
        cancel_at_period_end was set, end the subscription."""
        with self.lock:
            sub = self.get("subscription", subscription_id)
            item = sub["items"]["data"][0]
            start = item["current_period_end"]
            if sub["cancel_at_period_end"]:
                previous = {"status": sub["status"]}
                sub.update(status="canceled", ended_at=start, canceled_at=sub["canceled_at"] or start)
                self.emit("customer.subscription.deleted", sub, previous)
                return sub
            previous = {"items": copy.deepcopy(sub["items"])}
            item.update(current_period_start=start, current_period_end=self._period_end(start, item["price"]))
            if sub["status"] == "trialing":
                previous["status"] = "trialing"
                sub["status"] = "active"
            self.emit("customer.subscription.updated", sub, previous)
            invoice = self._invoice_for(sub, "subscription_cycle", (start, item["current_period_end"]))
            self._collect(invoice, sub)
            return sub

    def payments_fail(self, customer_id: str, failing: bool = True) -> None:
        """The customer's card is declined from now on (or accepted again)."""
        with self.lock:
            (self.failing_customers.add if failing else self.failing_customers.discard)(customer_id)

    def invoice_pay(self, invoice_id: str) -> dict:
        """The customer pays an open invoice (a new card in the portal, say)."""
        with self.lock:
            invoice = self.get("invoice", invoice_id)
            if invoice["status"] != "open":
                raise StripeError(400, "Invoice is already paid" if invoice["status"] == "paid" else "Invoice is not open")
            sub_id = (invoice["parent"] or {}).get("subscription_details", {}).get("subscription")
            sub = self.objects.get(sub_id) if sub_id else None
            self.failing_customers.discard(invoice["customer"])
            self._collect(invoice, sub, finalize=False)
            return invoice

    # ------------------------------------------------------------------ internals
    def _period_end(self, start: int, price_obj: dict) -> int:
        interval = (price_obj.get("recurring") or {}).get("interval", "month")
        return add_months(start, 12 if interval == "year" else 1)

    def _invoice_for(self, sub: dict, reason: str, period: tuple[int, int], amount: int | None = None,
                     lines: list[tuple[str, int, dict | None]] | None = None) -> dict:
        """A draft invoice for `sub`: its price for the period (or `lines`), plus the
        customer's pending invoice items."""
        customer = self.get("customer", sub["customer"])
        self.invoice_sequence += 1
        invoice = objects.invoice(created=self.tick(), base_url=self.url, customer_obj=customer,
                                  subscription_id=sub["id"], billing_reason=reason, period=period, livemode=False,
                                  number=f"{customer['invoice_prefix']}-{self.invoice_sequence:04d}")
        item = sub["items"]["data"][0]
        data = []
        if lines is None:
            price_obj = item["price"]
            total = price_obj["unit_amount"] * item["quantity"] if amount is None else amount
            data.append(objects.invoice_line(
                invoice_id=invoice["id"], amount=total, currency=price_obj["currency"],
                description=f"{item['quantity']} × {price_obj.get('nickname') or price_obj['product']}",
                period=period, livemode=False, subscription_id=sub["id"], subscription_item_id=item["id"],
                price_obj=price_obj, quantity=item["quantity"]))
        else:
            for description, cents, price_obj in lines:
                data.append(objects.invoice_line(
                    invoice_id=invoice["id"], amount=cents, currency="usd", description=description, period=period,
                    livemode=False, subscription_id=sub["id"], subscription_item_id=item["id"], price_obj=price_obj,
                    proration=True))
        for pending in self.of_kind("invoiceitem"):
            if pending["customer"] == customer["id"] and pending["invoice"] is None:
                pending["invoice"] = invoice["id"]
                data.append(objects.invoice_line(
                    invoice_id=invoice["id"], amount=pending["amount"], currency=pending["currency"],
                    description=pending["description"] or "", period=(pending["period"]["start"],
                                                                      pending["period"]["end"]),
                    livemode=False, subscription_id=sub["id"], invoice_item_id=pending["id"]))
        total = sum(line["amount"] for line in data)
        invoice["lines"]["data"] = data
        invoice["lines"]["total_count"] = len(data)
        invoice.update(subtotal=total, subtotal_excluding_tax=total, total=total, total_excluding_tax=total,
                       amount_due=total, amount_remaining=total)
        self.objects[invoice["id"]] = invoice
        self.emit("invoice.created", invoice)
        return invoice

    def _collect(self, invoice: dict, sub: dict | None, finalize: bool = True) -> None:
        """Finalise and charge: paid (invoice.paid, invoice.payment_succeeded) or declined
        (invoice.payment_failed; the subscription goes past_due)."""
        now = self.tick()
        if finalize:
            invoice.update(status="open", effective_at=now)
            invoice["status_transitions"]["finalized_at"] = now
            self.emit("invoice.finalized", invoice)
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        if invoice["customer"] in self.failing_customers and invoice["amount_due"] > 0:
            invoice["next_payment_attempt"] = now + 3 * 86400
            self.emit("invoice.payment_failed", invoice)
            if sub is not None and sub["status"] in ("active", "trialing"):
                previous = {"status": sub["status"]}
                sub["status"] = "past_due"
                self.emit("customer.subscription.updated", sub, previous)
            return
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0,
                       next_payment_attempt=None, ending_balance=0)
        invoice["status_transitions"]["paid_at"] = now
        if sub is not None:
            sub["latest_invoice"] = invoice["id"]
        self.emit("invoice.paid", invoice)
        self.emit("invoice.payment_succeeded", invoice)
        if sub is not None and sub["status"] in ("past_due", "unpaid"):
            previous = {"status": sub["status"]}
            sub["status"] = "active"
            self.emit("customer.subscription.updated", sub, previous)

    # ------------------------------------------------------------------ the API
    def handle(self, method: str, path: str, query: str, body: str, headers: dict) -> tuple[int, dict, dict]:
        auth = headers.get("authorization", "")
        key = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not KEY_PATTERN.match(key) or (self.api_key is not None and key != self.api_key):
            shown = key[:12] + "*" * max(0, len(key) - 16) + key[-4:] if key else ""
            return 401, {}, StripeError(401, f"Invalid API Key provided: {shown}").body()
        params = decode(body if method == "POST" else query)
        with self.lock:
            self.requests.append({"method": method, "path": path, "params": params,
                                  "stripe_version": headers.get("stripe-version"),
                                  "idempotency_key": headers.get("idempotency-key")})
            idem = headers.get("idempotency-key") if method == "POST" else None
            fingerprint = hashlib.sha256(f"{method} {path}\n{json.dumps(params, sort_keys=True)}".encode()).hexdigest()
            if idem:
                seen = self.idempotency.get((key, idem))
                if seen is not None:
                    if seen[0] != fingerprint:
                        return 400, {}, StripeError(
                            400, "Keys for idempotent requests can only be used with the same parameters they were "
                                 f"first used with. Try using a key other than '{idem}' if you meant to execute a "
                                 "different request.", type_="idempotency_error").body()
                    return seen[1], {"Idempotent-Replayed": "true"}, seen[2]
            try:
                status, answer = 200, _public(self.route(method, path, params))
            except StripeError as exc:
                status, answer = exc.status, exc.body()
            if idem and status < 500:
                self.idempotency[(key, idem)] = (fingerprint, status, answer)
            return status, {}, answer

    def route(self, method: str, path: str, params: dict) -> dict:
        for route_method, pattern, name in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return getattr(self, name)(params, *match.groups())
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _list(self, kind: str, params: dict, path: str, keep: Callable[[dict], bool]) -> dict:
        rows = sorted((o for o in self.of_kind(kind) if keep(o)), key=lambda o: o["created"], reverse=True)
        after = params.get("starting_after")
        if after:
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(after) + 1:] if after in ids else []
        limit = int(params.get("limit") or 10)
        return objects.listing(rows[:limit], path, has_more=len(rows) > limit)

    def account_retrieve(self, params):
        return objects.account(account_id=self.account_id, created=1_700_000_000)

    def customer_create(self, params):
        obj = objects.customer(created=self.tick(), email=params.get("email") or None, name=params.get("name"),
                               metadata=params.get("metadata") or {}, livemode=False)
        self.objects[obj["id"]] = obj
        self.emit("customer.created", obj)
        return obj

    def customer_retrieve(self, params, customer_id):
        return self.get("customer", customer_id)

    def customer_update(self, params, customer_id):
        obj = self.get("customer", customer_id)
        for field in ("email", "name", "description"):
            if field in params:
                obj[field] = params[field] or None
        if "metadata" in params:
            obj["metadata"] = {**obj["metadata"], **(params["metadata"] or {})}
        self.emit("customer.updated", obj)
        return obj

    def product_create(self, params):
        if not params.get("name"):
            raise StripeError(400, "Missing required param: name.", param="name")
        obj = objects.product(product_id=params.get("id"), created=self.tick(), name=params["name"],
                              metadata=params.get("metadata") or {}, livemode=False)
        if obj["id"] in self.objects:
            raise StripeError(400, f"Product already exists: {obj['id']}", param="id", code="resource_already_exists")
        self.objects[obj["id"]] = obj
        return obj

    def product_retrieve(self, params, product_id):
        return self.get("product", product_id)

    def price_create(self, params):
        product_id = params.get("product")
        if not product_id and params.get("product_data"):
            product_id = self.product_create(params["product_data"])["id"]
        self.get("product", product_id or "", param="product")
        if params.get("unit_amount") is None or not str(params["unit_amount"]).isdigit():
            raise StripeError(400, "Missing required param: unit_amount.", param="unit_amount")
        interval = (params.get("recurring") or {}).get("interval")
        if interval not in (None, "day", "week", "month", "year"):
            raise StripeError(400, f"Invalid recurring[interval]: {interval}", param="recurring[interval]")
        lookup_key = params.get("lookup_key") or None
        if lookup_key:
            for other in self.of_kind("price"):
                if other["lookup_key"] == lookup_key:
                    if not boolean(params.get("transfer_lookup_key")):
                        raise StripeError(400, f"A price (`{other['id']}`) already uses that lookup key.",
                                          param="lookup_key")
                    other["lookup_key"] = None
        obj = objects.price(created=self.tick(), product_id=product_id, unit_amount=int(params["unit_amount"]),
                            currency=(params.get("currency") or "usd").lower(), interval=interval,
                            lookup_key=lookup_key, nickname=params.get("nickname"),
                            metadata=params.get("metadata") or {}, livemode=False)
        self.objects[obj["id"]] = obj
        return obj

    def price_retrieve(self, params, price_id):
        return self.get("price", price_id)

    def price_list(self, params):
        keys = params.get("lookup_keys") or []
        keys = [keys] if isinstance(keys, str) else keys
        active = params.get("active")
        return self._list("price", params, "/v1/prices", lambda p: (not keys or p["lookup_key"] in keys)
                          and (active is None or p["active"] == boolean(active)))

    def checkout_session_create(self, params):
        if params.get("mode") != "subscription":
            raise StripeError(400, "This fake answers subscription-mode Checkout only.", param="mode")
        if not params.get("success_url"):
            raise StripeError(400, "Missing required param: success_url.", param="success_url")
        lines = params.get("line_items") or []
        if len(lines) != 1 or not lines[0].get("price"):
            raise StripeError(400, "line_items needs one recurring price.", param="line_items")
        price_obj = self.get("price", lines[0]["price"], "line_items[0][price]")
        if not price_obj["recurring"]:
            raise StripeError(400, "You must provide at least one recurring price in `subscription` mode.",
                              param="line_items[0][price]")
        customer_id = params.get("customer")
        if not customer_id:
            raise StripeError(400, "This fake needs `customer` (Tollgate always creates one first).", param="customer")
        self.get("customer", customer_id, "customer")
        obj = objects.checkout_session(
            created=self.tick(), base_url=self.url, customer_id=customer_id, price_obj=price_obj,
            quantity=int(lines[0].get("quantity") or 1), success_url=params["success_url"],
            cancel_url=params.get("cancel_url"), client_reference_id=params.get("client_reference_id"),
            metadata=params.get("metadata") or {}, subscription_data=params.get("subscription_data") or {},
            livemode=False)
        self.objects[obj["id"]] = obj
        return obj

    def checkout_session_retrieve(self, params, session_id):
        obj = copy.deepcopy(self.get("checkout.session", session_id))
        expand = params.get("expand") or []
        if "line_items" in expand:
            obj["line_items"] = objects.checkout_line_items(obj, self.get("price", obj["_line"]["price"]))
        return obj

    def portal_session_create(self, params):
        customer_id = params.get("customer")
        if not customer_id:
            raise StripeError(400, "Missing required param: customer.", param="customer")
        self.get("customer", customer_id, "customer")
        return objects.portal_session(created=self.tick(), base_url=self.url, customer_id=customer_id,
                                      return_url=params.get("return_url"), livemode=False)

    def subscription_retrieve(self, params, sub_id):
        return self.get("subscription", sub_id)

    def subscription_list(self, params):
        customer_id = params.get("customer")
        return self._list("subscription", params, "/v1/subscriptions",
                          lambda s: (not customer_id or s["customer"] == customer_id) and s["status"] != "canceled")

    def subscription_update(self, params, sub_id):
        sub = self.get("subscription", sub_id)
        if sub["status"] in ("canceled", "incomplete_expired"):
            raise StripeError(400, "A canceled subscription can only update its cancellation_details and metadata.")
        previous: dict = {}
        if "cancel_at_period_end" in params:
            flag = boolean(params["cancel_at_period_end"])
            if flag != sub["cancel_at_period_end"]:
                previous["cancel_at_period_end"] = sub["cancel_at_period_end"]
                sub["cancel_at_period_end"] = flag
                item = sub["items"]["data"][0]
                sub["cancel_at"] = item["current_period_end"] if flag else None
                sub["canceled_at"] = self.tick() if flag else None
        if "metadata" in params:
            previous["metadata"] = copy.deepcopy(sub["metadata"])
            sub["metadata"] = {**sub["metadata"], **(params["metadata"] or {})}
        proration_invoice = None
        for change in params.get("items") or []:
            item = next((i for i in sub["items"]["data"] if i["id"] == change.get("id")), None)
            if item is None:
                raise _missing("subscription item", str(change.get("id")), "items[0][id]")
            new_price = self.get("price", change.get("price") or "", "items[0][price]")
            if new_price["id"] == item["price"]["id"]:
                continue
            previous["items"] = copy.deepcopy(sub["items"])
            old_price = item["price"]
            item["price"] = new_price
            behavior = params.get("proration_behavior") or "create_prorations"
            if behavior == "always_invoice":
                now = self.tick()
                start, end = item["current_period_start"], item["current_period_end"]
                left = max(0, end - now) / max(1, end - start)
                unused = -int(old_price["unit_amount"] * item["quantity"] * left)
                remaining = int(new_price["unit_amount"] * item["quantity"] * left)
                proration_invoice = (sub, (now, end), [
                    (f"Unused time on {old_price.get('nickname') or old_price['id']}", unused, old_price),
                    (f"Remaining time on {new_price.get('nickname') or new_price['id']}", remaining, new_price)])
            elif behavior not in ("none", "create_prorations"):
                raise StripeError(400, f"Invalid proration_behavior: {behavior}", param="proration_behavior")
        if previous:
            self.emit("customer.subscription.updated", sub, previous)
        if proration_invoice is not None:
            target, period, lines = proration_invoice
            invoice = self._invoice_for(target, "subscription_update", period, lines=lines)
            self._collect(invoice, target)
        return sub

    def subscription_cancel(self, params, sub_id):
        sub = self.get("subscription", sub_id)
        if sub["status"] == "canceled":
            raise StripeError(400, f"No such subscription: '{sub_id}'", code="resource_missing")
        now = self.tick()
        previous = {"status": sub["status"]}
        sub.update(status="canceled", canceled_at=now, ended_at=now, cancel_at_period_end=False, cancel_at=None)
        self.emit("customer.subscription.deleted", sub, previous)
        return sub

    def invoiceitem_create(self, params):
        customer_id = params.get("customer")
        if not customer_id:
            raise StripeError(400, "Missing required param: customer.", param="customer")
        self.get("customer", customer_id, "customer")
        amount = params.get("amount")
        if amount is None or not re.fullmatch(r"-?\d+", str(amount)):
            raise StripeError(400, "Missing required param: amount.", param="amount")
        now = self.tick()
        period = params.get("period") or {}
        obj = objects.invoice_item(created=now, customer_id=customer_id, amount=int(amount),
                                   currency=(params.get("currency") or "usd").lower(),
                                   description=params.get("description"), metadata=params.get("metadata") or {},
                                   period=(int(period.get("start") or now), int(period.get("end") or now)),
                                   livemode=False, subscription_id=params.get("subscription"))
        self.objects[obj["id"]] = obj
        self.emit("invoiceitem.created", obj)
        return obj

    def invoiceitem_retrieve(self, params, item_id):
        return self.get("invoiceitem", item_id)

    def invoiceitem_list(self, params):
        customer_id = params.get("customer")
        return self._list("invoiceitem", params, "/v1/invoiceitems",
                          lambda i: not customer_id or i["customer"] == customer_id)

    def invoice_retrieve(self, params, invoice_id):
        return self.get("invoice", invoice_id)

    def invoice_list(self, params):
        customer_id, sub_id, status = params.get("customer"), params.get("subscription"), params.get("status")
        return self._list("invoice", params, "/v1/invoices", lambda i: (
            (not customer_id or i["customer"] == customer_id) and (not status or i["status"] == status)
            and (not sub_id or ((i["parent"] or {}).get("subscription_details") or {}).get("subscription") == sub_id)))

    def invoice_lines(self, params, invoice_id):
        return self.get("invoice", invoice_id)["lines"]

    def webhook_endpoint_create(self, params):
        url = params.get("url") or ""
        if urlsplit(url).scheme not in ("http", "https"):
            raise StripeError(400, "Invalid URL: must be a URL.", param="url")
        enabled = params.get("enabled_events") or []
        if not enabled:
            raise StripeError(400, "Missing required param: enabled_events.", param="enabled_events")
        obj = objects.webhook_endpoint(created=self.tick(), url=url, enabled_events=enabled,
                                       api_version=params.get("api_version") or None,
                                       metadata=params.get("metadata") or {}, description=params.get("description"),
                                       livemode=False)
        stored = dict(obj, _secret=obj["secret"])
        stored.pop("secret")  # Stripe shows the secret only in the create answer
        self.objects[obj["id"]] = stored
        return obj

    def webhook_endpoint_retrieve(self, params, endpoint_id):
        return self.get("webhook_endpoint", endpoint_id)

    def event_retrieve(self, params, event_id):
        return self.get("event", event_id)


_ROUTES = [(method, re.compile(pattern), name) for method, pattern, name in [
    ("GET", r"/v1/account", "account_retrieve"),
    ("POST", r"/v1/customers", "customer_create"),
    ("GET", r"/v1/customers/([^/]+)", "customer_retrieve"),
    ("POST", r"/v1/customers/([^/]+)", "customer_update"),
    ("POST", r"/v1/products", "product_create"),
    ("GET", r"/v1/products/([^/]+)", "product_retrieve"),
    ("POST", r"/v1/prices", "price_create"),
    ("GET", r"/v1/prices", "price_list"),
    ("GET", r"/v1/prices/([^/]+)", "price_retrieve"),
    ("POST", r"/v1/checkout/sessions", "checkout_session_create"),
    ("GET", r"/v1/checkout/sessions/([^/]+)", "checkout_session_retrieve"),
    ("POST", r"/v1/billing_portal/sessions", "portal_session_create"),
    ("GET", r"/v1/subscriptions", "subscription_list"),
    ("GET", r"/v1/subscriptions/([^/]+)", "subscription_retrieve"),
    ("POST", r"/v1/subscriptions/([^/]+)", "subscription_update"),
    ("DELETE", r"/v1/subscriptions/([^/]+)", "subscription_cancel"),
    ("POST", r"/v1/invoiceitems", "invoiceitem_create"),
    ("GET", r"/v1/invoiceitems", "invoiceitem_list"),
    ("GET", r"/v1/invoiceitems/([^/]+)", "invoiceitem_retrieve"),
    ("GET", r"/v1/invoices", "invoice_list"),
    ("GET", r"/v1/invoices/([^/]+)", "invoice_retrieve"),
    ("GET", r"/v1/invoices/([^/]+)/lines", "invoice_lines"),
    ("POST", r"/v1/webhook_endpoints", "webhook_endpoint_create"),
    ("GET", r"/v1/webhook_endpoints/([^/]+)", "webhook_endpoint_retrieve"),
    ("GET", r"/v1/events/([^/]+)", "event_retrieve"),
]]


class _Handler(http.server.BaseHTTPRequestHandler):
    fake: FakeStripe
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the tests read `fake.requests`
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, answer = self.fake.handle(self.command, parts.path, parts.query, body, headers)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", objects.new_id("req", 14))
        self.send_header("Stripe-Version", headers.get("stripe-version") or API_VERSION)
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _serve
