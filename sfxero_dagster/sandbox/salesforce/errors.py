"""Every error body the Salesforce emulator answers with, in the shapes Salesforce uses.

REST answers a list of ``{"message", "errorCode", "fields"}``; a save (create, update, upsert, a
collection item, a Bulk row) reports ``{"statusCode", "message", "fields"}`` per error; OAuth answers
``{"error", "error_description"}``; SOAP login answers a fault envelope; Bulk 2.0 answers
``{"errorCode", "message"}``. Facts: ../shared/reference/salesforce-api.md.
"""

from __future__ import annotations

from ..httpbase import Response


def api_error(code: str, message: str, fields: list[str] | None = None, status: int = 400) -> Response:
    """A REST error response: one error in a list."""
    return Response.json([{"message": message, "errorCode": code, "fields": fields or []}], status)


def not_found() -> Response:
    return Response.json(
        [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], 404
    )


def save_error(code: str, message: str, fields: list[str] | None = None) -> dict:
    """One error of a SaveResult (what a write reports per record)."""
    return {"statusCode": code, "message": message, "fields": fields or []}


def save_failure(errors: list[dict], status: int = 400) -> Response:
    """A single-record write's SaveResult errors as a REST error response."""
    return Response.json(
        [{"message": e["message"], "errorCode": e["statusCode"], "fields": e["fields"]} for e in errors],
        status,
    )


def invalid_session() -> Response:
    return Response.json([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401)


def request_limit_exceeded() -> Response:
    return Response.json(
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}], 403
    )


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response.json({"error": error, "error_description": description}, status)


def soap_login_fault() -> Response:
    fault = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>INVALID_LOGIN</faultcode>'
        "<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>"
        "<detail><sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username, "
        "password, security token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>"
        "</soapenv:Body></soapenv:Envelope>"
    )
    return Response(500, fault.encode(), {"Content-Type": "text/xml; charset=utf-8"})


def job_error(message: str, code: str = "INVALIDJOB", status: int = 400) -> Response:
    """A Bulk API 2.0 error response."""
    return Response.json([{"errorCode": code, "message": message}], status)
