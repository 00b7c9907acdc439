"""`astralytiq run` prints every log line of the run, even one whose batch reached the server
after a later-stamped line (two threads logging at once, flushed in separate batches).

A stand-in for the Prefect server's two endpoints makes that arrival order happen on demand; a
real server only produces it by chance (it made tests/integration/test_pipelines.py flaky)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orchestration import prefect_api
from orchestration.prefect_api import FlowRun, LogLine, follow


class ServerStandIn:
    """Serves a run whose log lines arrive in batches; the server filters as Prefect does."""

    def __init__(self, batches: list[list[LogLine]], states: list[str]) -> None:
        self.batches, self.states = batches, states
        self.stored: list[LogLine] = []
        self.polls = 0

    def flow_run(self, flow_run_id: str) -> FlowRun:
        if self.polls < len(self.batches):
            self.stored.extend(self.batches[self.polls])
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        return FlowRun(flow_run_id, "r", "monitor", "d", state, state.title(), None, None, None, None)

    def logs(
        self, flow_run_id: str, after: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[LogLine]:
        ordered = sorted(self.stored, key=lambda line: line.timestamp)
        if after:
            ordered = [line for line in ordered if line.timestamp >= after]  # inclusive, as observed
        return ordered[offset : offset + limit]


def line(n: int, second: int, message: str) -> LogLine:
    return LogLine(f"id{n}", f"2026-11-26T20:25:{second:02d}.000000Z", 20, message)


def test_a_line_arriving_after_a_later_stamped_one_is_still_printed(monkeypatch: Any) -> None:
    monkeypatch.setattr(prefect_api, "LATE_LOGS_SECONDS", 0.0)
    early_batch = [line(1, 10, "drift computed"), line(3, 12, "report stored")]
    late_batch = [line(2, 11, "drifted share 73% is above the threshold 50%: retraining")]
    final = [line(4, 13, "Finished in state Completed()")]
    server = ServerStandIn([early_batch, late_batch, final], ["RUNNING", "RUNNING", "COMPLETED"])
    events = list(follow(server, "run-1", poll_seconds=0.0))  # type: ignore[arg-type]
    messages = [e.message for e in events if isinstance(e, LogLine)]
    assert sorted(messages) == sorted(m.message for m in early_batch + late_batch + final)
    assert len(messages) == 4  # and none twice
    assert isinstance(events[-1], FlowRun) and events[-1].state == "COMPLETED"


def test_every_line_of_a_long_run_is_read_page_by_page() -> None:
    lines = [line(n, 0, f"series {n}") for n in range(450)]
    server = ServerStandIn([lines], ["COMPLETED"])
    server.flow_run("run-1")  # the lines reach the server
    assert [x.id for x in prefect_api._every_log(server, "run-1", page=200)] == [x.id for x in lines]  # type: ignore[arg-type]


class FlakyServer(BaseHTTPRequestHandler):
    """A real HTTP server that answers 503 (as a Prefect server with a locked store does) a set
    number of times before it answers."""

    failures_left = 0
    calls = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(b'{"exception_message":"Service Unavailable"}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(("failures", "recovers"), [(2, True), (len(prefect_api.RETRY_WAITS) + 1, False)])
def test_a_busy_server_is_retried_before_it_counts_as_down(failures: int, recovers: bool) -> None:
    FlakyServer.failures_left, FlakyServer.calls = failures, 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = prefect_api.PrefectAPI(f"http://127.0.0.1:{server.server_address[1]}/api")
        if recovers:
            assert api.logs("run-1") == []
            assert FlakyServer.calls == failures + 1
        else:
            with pytest.raises(prefect_api.PrefectUnavailable, match="answered 503"):
                api.logs("run-1")
            assert FlakyServer.calls == len(prefect_api.RETRY_WAITS) + 1
    finally:
        server.shutdown()
