"""The LLM planner over real HTTP against a scripted server: OpenAI chat completions and Anthropic messages."""

import asyncio
import json

import pytest

from gateway.app.planner import PlanningRequest
from gateway.app.planner.base import PlanningFailed
from gateway.app.planner.llm import LLMConfig, LLMPlanner
from tests.fake_llm import Answer, FakeLLM
from tests.llm_answers import BRIEF, valid_answer, with_cycle, with_unknown_tool

KEY = "sk-secret-never-shown-91b7"


def _plan(fake: FakeLLM, **config: object) -> LLMPlanner:
    values: dict = {"provider": "openai-compatible", "model": "local-7b", "base_url": fake.base_url, "api_key": KEY}
    values.update(config)
    return LLMPlanner(LLMConfig(**values))


def test_openai_compatible_json_answers_in_think_blocks_and_fences_are_repaired(fake_llm: FakeLLM):
    fake_llm.queue(
        Answer(data=with_cycle(valid_answer()), think="A metroidvania needs a map…", fence=True),
        Answer(data=valid_answer(), think="Fixing the cycle."),
    )
    drafted = asyncio.run(_plan(fake_llm).draft(PlanningRequest(brief=BRIEF)))
    assert len(drafted.draft.tasks) == len(valid_answer()["tasks"])
    first, second = fake_llm.requests
    # prompted-json: a JSON-object response format with the schema (llama.cpp turns it into a grammar)
    assert first["response_format"]["type"] == "json_object"
    assert "tasks" in json.dumps(first["response_format"]["schema"])
    assert "tools" not in first
    assert "dependency cycle" in json.dumps(second["messages"][-1])
    assert drafted.provenance.model_dump() | {"latency_ms": 0} == {
        "planner": "llm",
        "provider": "openai-compatible",
        "model": "local-7b",
        "prompt_version": "planner/1",
        "attempts": 2,
        "tokens_in": 200,
        "tokens_out": 400,
        "latency_ms": 0,
        "cost_usd": 0.0,
    }


def test_a_cut_off_answer_is_asked_again(fake_llm: FakeLLM):
    fake_llm.queue(Answer(data=valid_answer(), truncate=900), Answer(data=valid_answer()))
    drafted = asyncio.run(_plan(fake_llm).draft(PlanningRequest(brief=BRIEF)))
    assert drafted.provenance.attempts == 2
    assert "cut off" in json.dumps(fake_llm.requests[1]["messages"])


def test_openai_tool_calls_with_schema_errors_then_rule_errors_then_a_valid_plan(fake_llm: FakeLLM):
    broken = valid_answer()
    del broken["tasks"][0]["acceptance_criteria"]
    fake_llm.queue(
        Answer(data=broken, as_tool=True),
        Answer(data=with_unknown_tool(valid_answer()), as_tool=True),
        Answer(data=valid_answer(), as_tool=True),
    )
    planner = _plan(fake_llm, provider="openai", model="gpt-4o-mini", output_mode="auto", max_attempts=3)
    drafted = asyncio.run(planner.draft(PlanningRequest(brief=BRIEF)))
    assert [t["function"]["name"] for t in fake_llm.requests[0]["tools"]] == ["submit_plan"]
    assert "photoshop.magic_wand" in json.dumps(fake_llm.requests[2]["messages"])  # the rule problem went back
    assert drafted.provenance.attempts == 3
    assert drafted.provenance.cost_usd == pytest.approx((300 * 0.15 + 600 * 0.6) / 1e6)
    assert fake_llm.headers[0]["authorization"] == f"Bearer {KEY}"


def test_anthropic_messages_with_tool_use(fake_llm: FakeLLM):
    fake_llm.queue(Answer(data=with_cycle(valid_answer()), as_tool=True), Answer(data=valid_answer(), as_tool=True))
    planner = _plan(fake_llm, provider="anthropic", model="claude-sonnet-4-5", base_url=fake_llm.root_url)
    drafted = asyncio.run(planner.draft(PlanningRequest(brief=BRIEF)))
    assert drafted.provenance.provider == "anthropic"
    assert drafted.provenance.attempts == 2
    assert drafted.provenance.cost_usd == pytest.approx((200 * 3 + 400 * 15) / 1e6)
    sent = fake_llm.headers[0]
    assert KEY in (sent.get("x-api-key"), sent.get("authorization", "").removeprefix("Bearer "))
    assert fake_llm.requests[0]["tools"][0]["name"] == "submit_plan"


def test_native_json_schema_output(fake_llm: FakeLLM):
    fake_llm.queue(Answer(data=valid_answer()))
    drafted = asyncio.run(_plan(fake_llm, output_mode="native").draft(PlanningRequest(brief=BRIEF)))
    assert fake_llm.requests[0]["response_format"]["type"] == "json_schema"
    assert drafted.provenance.attempts == 1


def test_a_model_that_never_gets_it_right_fails_with_the_problems(fake_llm: FakeLLM):
    fake_llm.default = Answer(data=with_unknown_tool(valid_answer()))
    with pytest.raises(PlanningFailed) as failure:
        asyncio.run(_plan(fake_llm, max_attempts=2).draft(PlanningRequest(brief=BRIEF)))
    assert len(fake_llm.requests) == 2
    assert {p["type"] for p in failure.value.problems} == {"tool_unknown"}
    assert failure.value.provenance.attempts == 2


def test_service_errors_fail_without_showing_the_key(fake_llm: FakeLLM):
    fake_llm.default = Answer(status=401, error="invalid key", echo_auth=True)
    with pytest.raises(PlanningFailed) as failure:
        asyncio.run(_plan(fake_llm, provider="openai", model="gpt-4o").draft(PlanningRequest(brief=BRIEF)))
    assert "model service failed" in failure.value.reason
    assert KEY not in failure.value.reason
    assert "***" in failure.value.reason


def test_an_unreachable_server_fails_cleanly():
    planner = LLMPlanner(LLMConfig(model="m", base_url="http://127.0.0.1:9/v1", sdk_retries=0))
    with pytest.raises(PlanningFailed, match="model service"):
        asyncio.run(planner.draft(PlanningRequest(brief=BRIEF)))
