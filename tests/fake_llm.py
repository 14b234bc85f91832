"""A scripted LLM service on a loopback port: the OpenAI chat-completions and Anthropic messages protocols.

Tests queue answers (a plan as a tool call, as JSON text wrapped in `<think>` or a code fence, a slow answer,
an HTTP error…) and read back every request the gateway sent (to check prompts, repair messages, keys).
It is a real HTTP server, so the gateway's real clients (pydantic-ai over openai/anthropic SDKs) are tested.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """One scripted answer: JSON `data` as a tool call or text (optionally wrapped), an error, a delay."""

    data: Any = None
    as_tool: bool = False
    text: str | None = None  # raw text content (overrides data)
    think: str | None = None  # prepended as <think>…</think>
    fence: bool = False  # wrap the JSON in ```json … ```
    delay: float = 0.0
    status: int = 200
    error: str = "scripted failure"
    truncate: int | None = None  # cut the text after this many characters (finish_reason length)
    echo_auth: bool = False  # an error that quotes the credentials it got (as careless servers do)
    tokens: tuple[int, int] = (100, 200)

    def content(self) -> str:
        if self.text is not None:
            body = self.text
        else:
            body = json.dumps(self.data)
            if self.fence:
                body = f"Here is the plan:\n```json\n{body}\n```\n"
        if self.truncate is not None:
            body = body[: self.truncate]
        if self.think:
            body = f"<think>{self.think}</think>\n{body}"
        return body


@dataclass
class FakeLLM:
    """The server's script and what it received; `default` answers when the queue is empty."""

    answers: list[Answer] = field(default_factory=list)
    default: Answer | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (…/v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        """The Anthropic-style base URL (the SDK adds /v1/messages)."""
        return f"http://127.0.0.1:{self.port}"

    def queue(self, *answers: Answer) -> None:
        with self.lock:
            self.answers.extend(answers)

    def next_answer(self) -> Answer:
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
        if self.default is None:
            return Answer(status=500, error="no scripted answer left")
        return self.default

    def user_texts(self, index: int = -1) -> str:
        """Everything the gateway sent in one request, as text (prompts, tool results, retry messages)."""
        return json.dumps(self.requests[index])


def _openai_body(answer: Answer, request: dict[str, Any]) -> dict[str, Any]:
    tokens_in, tokens_out = answer.tokens
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish = "stop"
    if answer.as_tool:
        tools = request.get("tools") or []
        name = tools[0]["function"]["name"] if tools else "final_result"
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(answer.data)},
            }
        ]
        finish = "tool_calls"
    else:
        message["content"] = answer.content()
        if answer.truncate is not None:
            finish = "length"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out, "total_tokens": tokens_in + tokens_out},
    }


def _anthropic_body(answer: Answer, request: dict[str, Any]) -> dict[str, Any]:
    tokens_in, tokens_out = answer.tokens
    if answer.as_tool:
        tools = request.get("tools") or []
        name = tools[0]["name"] if tools else "final_result"
        content = [{"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:12]}", "name": name, "input": answer.data}]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": answer.content()}]
        stop = "end_turn" if answer.truncate is None else "max_tokens"
    return {
        "id": f"msg_{uuid.uuid4().hex[:12]}",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "fake"),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
    }


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:  # quiet
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            with fake.lock:
                fake.requests.append(request)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
            fake.received.set()
            answer = fake.next_answer()
            if answer.delay:
                fake.stopping.wait(answer.delay)
            if answer.status != 200:
                message = answer.error
                if answer.echo_auth:
                    message += f" (got {self.headers.get('authorization') or self.headers.get('x-api-key')})"
                self._send(answer.status, {"error": {"message": message, "type": "server_error"}})
                return
            if self.path.rstrip("/").endswith("/messages"):
                self._send(200, _anthropic_body(answer, request))
            else:
                self._send(200, _openai_body(answer, request))

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (cancelled, timed out)
                pass

    return Handler


class FakeLLMServer:
    """Serve a FakeLLM on 127.0.0.1 in a thread (a context manager)."""

    def __init__(self, fake: FakeLLM | None = None) -> None:
        self.fake = fake or FakeLLM()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.fake))
        self.httpd.daemon_threads = True
        self.fake.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self.fake

    def __exit__(self, *_exc: object) -> None:
        self.fake.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
