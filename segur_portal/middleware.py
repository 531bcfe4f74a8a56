from segur_portal.views import healthz


class HealthzMiddleware:
    """Answer /healthz before host validation and the HTTPS redirect.

    Container and load-balancer probes call the server by its internal address over
    plain HTTP; they must get the health report, not a 400 or a 301.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz" and request.method == "GET":
            return healthz(request)
        return self.get_response(request)
