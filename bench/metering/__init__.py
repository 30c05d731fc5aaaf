"""The metering benchmark: bare DRF vs Tollgate's metered endpoint vs DRF + djangorestframework-api-key +
django-ratelimit, served by one gunicorn. Run bench/metering/run.sh; figures in bench/README.md."""
