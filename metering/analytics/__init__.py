"""Usage and request analytics: what the dashboard, the API and the operators read.

- histogram.py: the fixed log-scale latency buckets, and percentiles read from them;
- recorder.py + middleware.py: a metered request's status class and latency, after its
  response, into an in-process histogram flushed to Redis every few seconds (never a second
  round trip per request); metering/pipeline/request_stats.py folds them into RequestHourly;
- ranges.py: the time ranges asked for (whole UTC hours, at most a year), checked once;
- selectors.py: one workspace's usage series, request metrics, latency over time, top keys
  and endpoints, key activity, the period's summary (reads rollups only, never raw events);
- platform.py: the whole platform for operators (public tables and Redis only);
- api.py: GET /api/v1/usage, /usage/summary, /usage/top, /metrics.
"""
