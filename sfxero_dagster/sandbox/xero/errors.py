"""Every error answer the emulated Xero API gives, in one place (Xero's bodies, statuses and headers).

Element-level validation messages stay with the rules that raise them (the backends); this module holds
the request-level answers: 400 ValidationException, the plain-text 404, 401, 403, 429 and OAuth errors.
"""

from __future__ import annotations

from ..httpbase import Response

NOT_FOUND_TEXT = "The resource you're looking for cannot be found"
# What a backend rule returns as its error list when the addressed record does not exist (the route
# answers 404 instead of a validation error).
NOT_FOUND = "__not_found__"


def missing_element(what: str, id_field: str) -> str:
    """The element-level message for an id that names nothing, in a batch (Xero's wording, documented for
    credit notes: "An existing Credit Note with the specified CreditNoteID could not be found")."""
    return f"An existing {what} with the specified {id_field} could not be found"


def validation_exception(elements: list[dict]) -> dict:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    }


def validation_error(message: str) -> Response:
    """A 400 ValidationException carrying one element with one message."""
    return Response.json(validation_exception([{"ValidationErrors": [{"Message": message}]}]), 400)


def not_found() -> Response:
    return Response.text(NOT_FOUND_TEXT, 404)


def bad_request(message: str) -> Response:
    """A request-level 400 (not about an element): Xero answers these as ValidationException too."""
    return Response.json(
        {"ErrorNumber": 10, "Type": "ValidationException", "Message": message, "Elements": []}, 400
    )


def unauthorized(detail: str) -> Response:
    return Response.json(
        {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": detail},
        401,
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def tenant_not_connected() -> Response:
    return Response.json(
        {
            "Type": None,
            "Title": "Forbidden",
            "Status": 403,
            "Detail": "AuthenticationUnsuccessful: tenant is not connected to this app",
        },
        403,
    )


def too_many(problem: str, retry_after: int) -> Response:
    return Response.json(
        {"Title": "Too Many Requests", "Status": 429, "Detail": f"Rate limit exceeded: {problem}"},
        429,
        {"Retry-After": str(max(1, int(retry_after))), "X-Rate-Limit-Problem": problem},
    )


def oauth_error(code: str) -> Response:
    """The identity server's answer to a bad token request (``invalid_client``, ``invalid_grant``...)."""
    return Response.json({"error": code}, 400)
