"""Invoices: built from metering's daily totals by the rating engine, kept draft for a window
(late events land in it), then finalised and never changed again.

- `periods`: billing periods are calendar months in UTC, the same months metering's monthly
  windows (and so the spend cap) count in, and whole days of the daily totals.
- `build`: usage totals, a subscription's terms for a period, adjustments for usage recorded
  after an earlier invoice was finalised, and the rated lines.
- `close`: the period close (Celery beat): drafts for every subscribed workspace whose period
  ended, finalised once the draft window has passed; manual invoices; the preview.
"""
