"""After the response: a metered request's status class and latency into the in-process
histogram (recorder.py). The check marked the request (metering.decorators.meter_request);
unmarked requests cost one attribute lookup."""

import time

from metering.analytics import recorder


class RequestAnalyticsMiddleware:
    """Placed right after the request id, so the latency covers the whole stack below it and the
    status is the final one (exceptions already turned into responses)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter_ns()
        response = self.get_response(request)
        mark = getattr(request, "usage_mark", None)
        if mark is not None:
            workspace_id, key_id, endpoint, at, refused = mark
            recorder.record(workspace_id=workspace_id, key_id=key_id, endpoint=endpoint,
                            status_class=recorder.status_class(response.status_code, refused=refused),
                            at=at, latency_us=(time.perf_counter_ns() - started) // 1000)
        return response
