"""SMS through the outbox: a change's SMS is a row of its own, sent to a local fake of SMSAPI.pl's
HTTP API (answering as its documentation says: a message list, an error code, a 5xx, or
nothing in time) by the real arq worker, with the mail's retry and failure rules."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest

from core.jobs import enqueue_outbox
from notifications.config import MailConfig
from tests.factories import free_port, insert_booking, insert_outbox, run_worker

TOKEN = "test-token-123"
PHONE = "+48600100200"


class FakeSmsapi:
    """SMSAPI's POST /sms.do on 127.0.0.1: `replies` scripts the answers, one per request
    ((status, JSON body) or "hang": no answer for longer than the sender waits); after them,
    each message is queued as the documentation shows."""

    def __init__(self) -> None:
        self.port = free_port()
        self.replies: deque[tuple[int, dict] | str] = deque()
        self.requests: list[dict] = []
        self.queued: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                request = {
                    "path": urlsplit(self.path).path,
                    "query": parse_qs(urlsplit(self.path).query),
                    "authorization": self.headers.get("Authorization"),
                    "form": form,
                }
                fake.requests.append(request)
                reply = fake.replies.popleft() if fake.replies else None
                if reply == "hang":
                    time.sleep(2)
                    return
                if reply is None:
                    if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                        reply = (401, {"error": 101, "message": "Authorization failed"})
                    else:
                        fake.queued.append(form)
                        item = {
                            "id": str(len(fake.queued)),
                            "points": 0.16,
                            "number": form["to"],
                            "submitted_number": form["to"],
                            "status": "QUEUE",
                            "idx": form.get("idx"),
                        }
                        reply = (200, {"count": 1, "list": [item]})
                status, answer = reply  # type: ignore[misc]
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"smsapi+http://{TOKEN}@127.0.0.1:{self.port}?from=Wizyta"

    def __enter__(self) -> FakeSmsapi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smsapi():
    with FakeSmsapi() as fake:
        yield fake


@pytest.fixture
def sms_settings(smtp_settings, smsapi):
    return msgspec.structs.replace(smtp_settings, sms_url=smsapi.url)


def config(**changes) -> MailConfig:
    return MailConfig(
        smtp_timeout=10, sms_timeout=0.5, retry_base=0.1, retry_cap=0.2, max_jobs=5, **changes
    )


async def a_visit(pool, *, language="en", email="visitor@example.test", notify_by=("email", "sms")):
    async with pool.acquire() as conn:
        visit = await insert_booking(conn, language=language, visitor_email=email)
        await conn.execute(
            "update bookings set visitor_phone = $2, notify_by = $3 where id = $1",
            visit["id"],
            PHONE,
            list(notify_by),
        )
        row_id = await insert_outbox(conn, visit["id"], "confirmed")
    return visit, row_id


async def rows(pool, booking_id):
    return await pool.fetch("select * from outbox where booking_id = $1 order by id", booking_id)


async def test_a_change_goes_out_by_mail_and_by_sms_each_as_a_row_of_its_own(
    seeded, redis, sms_settings, smsapi, catcher
):
    visit, row_id = await a_visit(seeded)
    await enqueue_outbox(redis, [row_id])

    await run_worker(sms_settings, config())

    mail, sms = await rows(seeded, visit["id"])
    assert (mail["channel"], mail["parent_id"]) == ("email", None)
    assert (sms["channel"], sms["parent_id"], sms["kind"]) == ("sms", row_id, "confirmed")
    assert mail["sent_at"] and sms["sent_at"] and sms["attempts"] == 1
    assert catcher.count() == 1
    [request] = smsapi.requests
    assert request["path"] == "/sms.do"
    assert request["authorization"] == f"Bearer {TOKEN}"
    form = request["form"]
    assert form["to"] == "48600100200" and form["from"] == "Wizyta"
    assert form["format"] == "json" and form["encoding"] == "utf-8"
    assert form["idx"] == f"wizyta{sms['id']}" and form["check_idx"] == "1"
    assert form["message"].startswith(f"Visit {visit['reference']} confirmed: ")
    assert f"http://wizyta.test/bookings/{visit['reference']}?token=" in form["message"]


async def test_the_sms_link_opens_the_visits_page(seeded, redis, sms_settings, smsapi, catcher):
    from litestar.testing import AsyncTestClient

    from app import create_app

    visit, row_id = await a_visit(seeded)
    await enqueue_outbox(redis, [row_id])
    await run_worker(sms_settings, config())
    link = smsapi.queued[0]["message"].rsplit(" ", 1)[-1]
    path = link.removeprefix("http://wizyta.test")

    async with AsyncTestClient(app=create_app(sms_settings)) as client:
        page = await client.get(path, follow_redirects=True)
    assert page.status_code == 200
    assert visit["reference"] in page.text


async def test_a_visitor_who_chose_sms_gets_no_mail(seeded, redis, sms_settings, smsapi, catcher):
    visit, row_id = await a_visit(seeded, notify_by=("sms",))
    await enqueue_outbox(redis, [row_id])

    await run_worker(sms_settings, config())

    mail, sms = await rows(seeded, visit["id"])
    assert mail["last_error"] == "skipped: the visitor chose SMS"
    assert sms["sent_at"] is not None
    assert catcher.count() == 0 and len(smsapi.queued) == 1


async def test_a_visit_without_an_e_mail_address_is_told_by_sms_only(
    seeded, redis, sms_settings, smsapi, catcher
):
    visit, row_id = await a_visit(seeded, email=None, notify_by=("email",))
    await enqueue_outbox(redis, [row_id])

    await run_worker(sms_settings, config())

    mail, sms = await rows(seeded, visit["id"])
    assert mail["last_error"] == "skipped: no e-mail address"
    assert sms["sent_at"] is not None and sms["channel"] == "sms"
    assert catcher.count() == 0


async def test_a_number_smsapi_refuses_with_error_13_fails_at_once_and_the_mail_still_goes(
    seeded, redis, sms_settings, smsapi, catcher
):
    smsapi.replies.append(
        (
            200,
            {
                "invalid_numbers": [
                    {
                        "number": "48600100200",
                        "submitted_number": "48600100200",
                        "message": "Invalid phone number",
                    }
                ],
                "error": 13,
                "message": "No correct phone numbers",
            },
        )
    )
    visit, row_id = await a_visit(seeded)
    await enqueue_outbox(redis, [row_id])

    await run_worker(sms_settings, config())
    await run_worker(sms_settings, config())  # its sweep leaves a failed row alone

    mail, sms = await rows(seeded, visit["id"])
    assert mail["sent_at"] is not None
    assert sms["failed_at"] is not None and sms["sent_at"] is None and sms["attempts"] == 1
    assert sms["last_error"] == "SMSAPI error 13: No correct phone numbers"
    assert "token" not in sms["payload"]
    assert len(smsapi.requests) == 1


async def test_a_5xx_then_a_success_is_sent_on_the_second_try(
    seeded, redis, sms_settings, smsapi, catcher
):
    smsapi.replies.append((503, {"message": "Service Unavailable"}))
    visit, row_id = await a_visit(seeded)
    await enqueue_outbox(redis, [row_id])

    await run_worker(sms_settings, config())

    _, sms = await rows(seeded, visit["id"])
    assert sms["sent_at"] is not None and sms["attempts"] == 2
    assert sms["last_error"] == "SMSAPI answered HTTP 503"
    assert len(smsapi.requests) == 2 and len(smsapi.queued) == 1
    # the same idx both times: had the first been queued, SMSAPI would refuse the second (53)
    assert smsapi.requests[0]["form"]["idx"] == smsapi.requests[1]["form"]["idx"]


async def test_a_gateway_that_never_answers_in_time_is_retried_then_recorded_as_failed(
    seeded, redis, sms_settings, smsapi, catcher
):
    smsapi.replies.extend(["hang", "hang", "hang"])
    visit, row_id = await a_visit(seeded)
    await enqueue_outbox(redis, [row_id])

    await run_worker(sms_settings, config(max_attempts=3))

    mail, sms = await rows(seeded, visit["id"])
    assert mail["sent_at"] is not None
    assert sms["failed_at"] is not None and sms["attempts"] == 3
    assert sms["last_error"] == "SMSAPI did not answer within 0.5 s"
    assert len(smsapi.requests) == 3 and smsapi.queued == []


async def test_error_53_for_an_idx_sent_before_counts_as_sent_not_as_a_failure(
    seeded, redis, sms_settings, smsapi, catcher
):
    smsapi.replies.append((200, {"error": 53, "message": "Not unique idx"}))
    visit, row_id = await a_visit(seeded)
    await enqueue_outbox(redis, [row_id])

    await run_worker(sms_settings, config())

    _, sms = await rows(seeded, visit["id"])
    assert sms["sent_at"] is not None and sms["failed_at"] is None


async def test_without_sms_url_each_sms_is_written_as_a_file(seeded, redis, smtp_settings, catcher):
    visit, row_id = await a_visit(seeded, language="uk")
    await enqueue_outbox(redis, [row_id])

    await run_worker(smtp_settings, config())

    [path] = list((smtp_settings.data_dir / "sms" / "new").iterdir())
    text = path.read_text()
    assert text.startswith(f"To: {PHONE}\nEncoding: UCS-2\nParts: ")
    assert "підтверджено" in text
    assert f"outbox-{(await rows(seeded, visit['id']))[1]['id']}" in path.name
