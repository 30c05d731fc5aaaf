"""The default plan catalogue, seeded by a data migration and by `manage.py demo`."""

import copy

from metering.policy import FALLBACK_POLICY

# The free plan's limits are what metering enforces before billing says anything (one place).
_FREE_LIMITS = {part: copy.deepcopy(FALLBACK_POLICY[part]) for part in ("burst", "meters")}

DEFAULT_PLANS = [
    {
        "slug": "free", "name": "Free", "monthly_price_cents": 0, "is_default": True, "sort_order": 0,
        "description": "1,000 requests an hour, 10,000 a day.",
        "limits": _FREE_LIMITS,
    },
    {
        "slug": "starter", "name": "Starter", "monthly_price_cents": 2900, "sort_order": 10,
        "description": "5,000 requests an hour, 50,000 a day, 300 analysis runs a month.",
        "limits": {"burst": {"limit": 50, "window": 1},
                   "meters": {"requests": {"hour": {"limit": 5000, "hard": True}, "day": {"limit": 50000, "hard": True}},
                              "analysis_runs": {"credits": 300}}},
    },
    {
        "slug": "pro", "name": "Pro", "monthly_price_cents": 9900, "sort_order": 20,
        "description": "10,000 requests an hour, 100,000 a day (overage billed), 3,000 analysis runs a month.",
        "limits": {"burst": {"limit": 100, "window": 1},
                   "meters": {"requests": {"hour": {"limit": 10000, "hard": True},
                                           "day": {"limit": 100000, "hard": False}},
                              "analysis_runs": {"credits": 3000}}},
    },
    {
        "slug": "enterprise", "name": "Enterprise", "monthly_price_cents": 0, "sort_order": 30,
        "description": "No request cap; burst 500/s per key; 100,000 analysis runs a month.",
        "limits": {"burst": {"limit": 500, "window": 1},
                   "meters": {"requests": {}, "analysis_runs": {"credits": 100000}}},
    },
]
