"""The demo product: the API a Tollgate operator sells, here a small text analysis
(POST /api/v1/analyze: word count, sentiment, emotions from lexicon.json).

It is not part of metering: it is what metering meters, with one decorator on its view
(api.py: `@metered(requests=1, tokens=...)`), as a user's own product would be. Replace it
with yours; `manage.py demo` and the quick start call it.
"""
