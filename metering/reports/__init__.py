"""The dashboard's usage report: what the usage page, its CSV export and the overview's
requests chart show, composed from the analytics selectors (metering/analytics/).

- ranges.py: the range picker (24 h, 7 d, 30 d, custom), its errors next to the fields;
- usage.py: the report for one range (charts, top keys, quota gauges) and its CSV rows.
"""
