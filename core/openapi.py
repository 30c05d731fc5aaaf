"""The OpenAPI document's conventions, in one place: problems and rate-limit headers per operation.

Errors are documented from the error classes themselves (core.errors.DomainError subclasses:
`code`, `status`, `title`, and an example `detail`), so the document cannot say a code the
code does not raise under another name. An operation lists:

- what its authentication and permission classes may refuse: each class names its errors in a
  `problems` attribute (apikeys.authentication.ApiKeyAuthentication, apikeys.permissions);
- what its handler declares: `@problems(LastOwner, ...)` on the method, or `problems` set by
  another decorator (`@metered` adds the 429s and the 503, and marks the rate-limit headers);
- what any body or path parameter brings: invalid_input, malformed_json, unsupported_media_type
  and body_too_large for a request body; not_found for a path parameter;
- anything given to `extend_schema(responses={..., **problem_responses(SomeError)})`.

Each status gets one `application/problem+json` response with an example per code. Metered
operations document RateLimit-Policy, RateLimit and X-RateLimit-* on their success and 429
responses, and Retry-After on the 429. X-Request-ID, on every response, is said once in the
document's description (SPECTACULAR_SETTINGS) rather than on each of them.

AutoSchema is REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS. This module imports no app: apps hand it
their error classes.
"""

from collections.abc import Callable, Iterable
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from core.errors import (
    BodyTooLarge,
    DomainError,
    InvalidInput,
    MalformedJson,
    NotFound,
    UnknownHost,
    UnsupportedMediaType,
)
from core.problems import CONTENT_TYPE, PROBLEM_TYPE_BASE

ErrorClass = type[DomainError]
# What any /api/ request may meet before its view: tenants.middleware's answer for a host that
# serves no workspace (and its 403 for a suspended one, which ApiKeyAuthentication names too).
HOST_PROBLEMS: tuple[ErrorClass, ...] = (UnknownHost,)
BODY_PROBLEMS: tuple[ErrorClass, ...] = (InvalidInput, MalformedJson, UnsupportedMediaType, BodyTooLarge)
EXAMPLE_REQUEST_ID = "b3f1c2d4e5a64f7b8c9d0e1f2a3b4c5d"


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem (core/problems.py). Some codes add fields of their own (a 429 names the
    violated policy, its window, limit and reset)."""

    class Meta:
        ref_name = "Problem"

    type = serializers.CharField(help_text="A URI naming the problem type.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong and what to do, for a person.")
    instance = serializers.CharField(allow_null=True, help_text="The request's path.")
    code = serializers.CharField(help_text="Stable, for programs: switch on this.")
    request_id = serializers.CharField(allow_null=True, help_text="Also in the X-Request-ID header.")
    # "errors" is the problem's field name; Serializer also has an .errors property, which the stubs type
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="invalid_input: messages by field path.")
    field = serializers.CharField(required=False, help_text="invalid_input: the first field at fault.")


def problem_example(error: ErrorClass, *, path: str = "/api/v1/...") -> dict[str, Any]:
    """The body `error` answers, as core.problems.from_domain_error builds it."""
    instance = error(error.example_detail)
    return {
        "type": error.type_uri or PROBLEM_TYPE_BASE + error.code.replace("_", "-"),
        "title": error.title,
        "status": int(error.status),
        "detail": instance.detail,
        "instance": path,
        "code": error.code,
        "request_id": EXAMPLE_REQUEST_ID,
        **error.example_extra,
    }


class ProblemsResponse(OpenApiResponse):
    """One status's problems: the schema, and an example per code. `errors` keeps the classes,
    so AutoSchema can merge what the operation implies with what a view declared."""

    def __init__(self, status: int, errors: Iterable[ErrorClass], *, path: str = "/api/v1/..."):
        self.status = int(status)
        self.errors = _unique(errors)
        super().__init__(
            response=ProblemSerializer,
            description=", ".join(f"`{e.code}`" for e in self.errors),
            examples=[OpenApiExample(e.code, summary=e.title, value=problem_example(e, path=path),
                                     media_type=CONTENT_TYPE, status_codes=[str(self.status)])
                      for e in self.errors],
        )


def _unique(errors: Iterable[ErrorClass]) -> list[ErrorClass]:
    """First class of each code, in order (a subclass may keep its parent's code)."""
    seen: dict[str, ErrorClass] = {}
    for error in errors:
        seen.setdefault(error.code, error)
    return list(seen.values())


def problem_responses(*errors: ErrorClass, path: str = "/api/v1/...") -> dict[tuple[int, str], ProblemsResponse]:
    """`extend_schema(responses=...)` entries for these errors: one problem response per status."""
    by_status: dict[int, list[ErrorClass]] = {}
    for error in errors:
        if not (isinstance(error, type) and issubclass(error, DomainError)):
            raise TypeError(f"problem_responses takes DomainError subclasses, not {error!r}")
        by_status.setdefault(int(error.status), []).append(error)
    return {(status, CONTENT_TYPE): ProblemsResponse(status, group, path=path)
            for status, group in sorted(by_status.items())}


def problems(*errors: ErrorClass) -> Callable:
    """Declare on a view method the errors it (or the services it calls) may raise:

        @problems(LastOwner, ScopeNotGrantable)
        def post(self, request): ...
    """
    problem_responses(*errors)  # type-checks them now, at import

    def decorate(handler):
        handler.problems = (*getattr(handler, "problems", ()), *errors)
        return handler

    return decorate


def _header(name: str, description: str, example: str, kind=OpenApiTypes.STR, on=None) -> OpenApiParameter:
    return OpenApiParameter(name, kind, location=OpenApiParameter.HEADER, response=on if on is not None else True,
                            description=description, examples=[OpenApiExample(name, value=example)])


_METERED = ["200", "201", "429"]
RATE_LIMIT_HEADERS = [
    _header("RateLimit-Policy", "Every window of every meter this call consumes (IETF "
            "draft-ietf-httpapi-ratelimit-headers): `q` quota, `w` window seconds (none for a calendar month).",
            '"burst";q=100;w=1, "hour";q=10000;w=3600, "day";q=100000;w=86400', on=_METERED),
    _header("RateLimit", "The state of each window named in RateLimit-Policy: `r` remaining, `t` seconds to reset.",
            '"burst";r=99;t=1, "hour";r=9412;t=1837, "day";r=99120;t=40210', on=_METERED),
    _header("X-RateLimit-Limit", "The tightest window's limit (GitHub's style).", "10000", OpenApiTypes.INT, _METERED),
    _header("X-RateLimit-Remaining", "What is left in that window.", "9412", OpenApiTypes.INT, _METERED),
    _header("X-RateLimit-Reset", "When that window resets, epoch seconds.", "1767225600", OpenApiTypes.INT, _METERED),
    _header("Retry-After", "Seconds to wait before this call can be admitted.", "1", OpenApiTypes.INT, ["429"]),
]


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema plus every problem an operation may answer, and its headers."""

    def _handler(self):
        return getattr(self.view, self.method.lower(), None)

    def implied_problems(self) -> list[ErrorClass]:
        errors: list[ErrorClass] = list(HOST_PROBLEMS)
        for part in (*self.view.get_authenticators(), *self.view.get_permissions()):
            errors.extend(getattr(type(part), "problems", ()))
        errors.extend(getattr(self._handler(), "problems", ()))
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            errors.extend(BODY_PROBLEMS)
        if "{" in self.path:
            errors.append(NotFound)
        return errors

    def _get_response_bodies(self, direction="response") -> dict:
        # Not get_response_serializers: extend_schema(responses=...) overrides that one in a subclass
        responses = super()._get_response_bodies(direction)
        declared = self.get_response_serializers()
        errors = self.implied_problems()
        if isinstance(declared, dict):
            errors.extend(e for response in declared.values() if isinstance(response, ProblemsResponse)
                          for e in response.errors)
        for (status, media_type), response in problem_responses(*errors, path=self.path).items():
            responses[str(status)] = self._get_response_for_code(response, str(status), [media_type], direction)
        return responses

    def get_override_parameters(self) -> list:
        parameters = list(super().get_override_parameters())
        if getattr(self._handler(), "rate_limited", False):
            parameters.extend(RATE_LIMIT_HEADERS)
        return parameters
