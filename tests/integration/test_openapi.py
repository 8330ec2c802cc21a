"""The OpenAPI document says what the API does (issue 14, finding 7), and OPTIONS lists every
method of a path. schemathesis (test_schemathesis.py) checks the answers against the document;
these pin what it cannot see: that the right schemas and headers are named at all."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.usefixtures("seeded")

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}


def _ref(response: dict) -> str:
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


@pytest.fixture
async def document(client) -> dict:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_a_booking_answers_a_held_visit_or_a_draw_entry_each_with_its_schema(document):
    responses = document["paths"]["/api/v1/bookings"]["post"]["responses"]
    assert _ref(responses["201"]) == "VisitCreated"
    assert _ref(responses["202"]) == "DrawEntry"
    for status in ("400", "409", "413", "422", "429", "503"):
        assert responses[status]["content"] == PROBLEM, status


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/api/v1/bookings/{reference}/confirm", {"404", "409", "410"}),
        ("/api/v1/bookings/{reference}/cancel", {"401", "404", "409"}),
        ("/api/v1/bookings/{reference}/reschedule", {"401", "404", "409", "422"}),
    ],
)
async def test_a_visitors_change_answers_the_visit_and_documents_its_refusals(
    document, path, statuses
):
    responses = document["paths"][path]["post"]["responses"]
    assert _ref(responses["200"]) == "Visit"
    assert statuses <= set(responses)
    assert all(responses[s]["content"] == PROBLEM for s in statuses | {"400", "503"})


async def test_a_problem_has_the_members_core_problems_writes(document):
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"code", "field"} <= set(problem["properties"])


async def test_the_booking_headers_are_documented_the_idempotency_key_as_required(document):
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/bookings"]["post"]["parameters"]}
    assert parameters["Idempotency-Key"]["in"] == "header"
    assert parameters["Idempotency-Key"]["required"] is True
    assert parameters["Altcha"]["in"] == "header"
    assert parameters["Altcha"]["required"] is False


async def test_a_booking_still_reads_both_headers_from_its_parameters(client):
    from tests.booking_helpers import book, booking_body, free_slots

    slots = await free_slots(client)
    missing = await client.post("/api/v1/bookings", json=booking_body(slots[0]["start"], "a@b.pl"))
    assert missing.status_code == 422
    assert missing.json()["code"] == "idempotency_key_missing"
    held = await book(client, slots[0]["start"], "olena@example.org", key="key-1")
    assert held.status_code == 201, held.text


async def test_options_lists_every_method_of_a_path(client, document):
    for path, item in document["paths"].items():
        methods = {m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}}
        concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        response = await client.options(concrete)
        assert response.status_code == 204, (path, response.text)
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert methods | {"OPTIONS"} <= allowed, (path, allowed)


async def test_options_on_the_staff_points_lists_get_and_post(client):
    response = await client.options("/api/v1/staff/points")
    assert response.headers["allow"] == "GET, OPTIONS, POST"
