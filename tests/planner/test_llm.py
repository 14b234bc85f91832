"""gateway/app/planner/llm.py: parsing answers, the planner's rules, repairs, prompts, prices (no network)."""

import asyncio
import json
import re
from typing import Any

import pytest
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from gateway.app.planner import Feedback, GameBrief, PlanningRequest, get_planner
from gateway.app.planner.base import PlanningFailed
from gateway.app.planner.llm import (
    Check,
    LLMConfig,
    LLMPlan,
    LLMPlanner,
    canonical_code,
    extract_json,
    load_prompts,
    output_schema,
    planning_prompt,
    price_of,
    resolved_template,
)
from gateway.app.planner.models import PlanDraft
from tests.llm_answers import BRIEF, valid_answer, with_cycle, with_unknown_tool, without_feature


def _check(request: PlanningRequest) -> Check:
    from gateway.app.planner import load_catalogue

    template, engine = resolved_template(request)
    return Check(request=request, engine=engine, template=template, catalogue=load_catalogue())


def _types(problems: list[dict[str, Any]]) -> set[str]:
    return {p["type"] for p in problems}


# --- Parsing --------------------------------------------------------------------------------------------


def test_json_is_found_inside_think_blocks_fences_and_prose():
    assert extract_json('<think>{"no": 1} hmm</think>\nSure! ```json\n{"a": 1}\n``` done') == {"a": 1}
    assert extract_json('Here it is: {"a": {"b": [1, 2]}} hope it helps') == {"a": {"b": [1, 2]}}
    assert extract_json('<thinking>plan</thinking>{"a": 2}') == {"a": 2}


def test_an_unclosed_think_block_or_a_cut_off_answer_is_explained():
    with pytest.raises(ValueError, match="no JSON object"):
        extract_json("<think>I will now write the {plan")
    with pytest.raises(ValueError, match="cut off"):
        extract_json('{"summary": "x", "tasks": [{"code": "T-001", "ti')
    with pytest.raises(ValueError, match="not valid JSON"):
        extract_json('{"a": 1,, "b": 2}')
    with pytest.raises(ValueError, match="no JSON object"):
        extract_json("I cannot help with that.")


def test_task_codes_are_normalised():
    assert canonical_code("T-4") == "T-004"
    assert canonical_code("t012") == "T-012"
    assert canonical_code("T_1234") == "T-1234"
    assert canonical_code("Task four") is None


def test_the_schema_for_text_answers_is_self_contained_and_grammar_friendly():
    schema = json.dumps(output_schema(LLMPlan))
    assert "$ref" not in schema
    assert "$defs" not in schema
    assert "\\d" not in schema  # llama.cpp's grammar converter dies on \d


# --- The planner's rules --------------------------------------------------------------------------------


def test_a_valid_answer_becomes_a_valid_draft_in_dependency_order():
    answer = valid_answer()
    draft, problems, codes = _check(PlanningRequest(brief=BRIEF)).convert(LLMPlan.model_validate(answer))
    assert problems == []
    assert isinstance(draft, PlanDraft)
    assert [t.idx for t in draft.tasks] == list(range(len(answer["tasks"])))
    assert draft.template == "metroidvania/godot" or draft.template.endswith("/godot")
    assert draft.highest_code == max(int(c[2:]) for c in codes)


def test_uncovered_features_dropped_platforms_cycles_and_unknown_tools_are_all_reported():
    answer = with_unknown_tool(with_cycle(without_feature(valid_answer(), "save-rooms")))
    answer["notes"], answer["summary"] = [], "A plan."
    answer = json.loads(re.sub(r"(?i)(nintendo )?switch", "console", json.dumps(answer)))
    _draft, problems, _codes = _check(PlanningRequest(brief=BRIEF)).convert(LLMPlan.model_validate(answer))
    assert {"feature_uncovered", "platform_dropped", "dependency_cycle", "tool_unknown"} <= _types(problems)
    assert any("save-rooms" in p["msg"] for p in problems)
    assert any("Nintendo Switch" in p["msg"] for p in problems)
    assert "dependency_order" not in _types(problems)  # the gateway orders tasks itself


def test_a_tool_for_another_engine_is_refused():
    answer = valid_answer()
    answer["tasks"][0]["mcp_tools"] = ["unity"]
    _draft, problems, _codes = _check(PlanningRequest(brief=BRIEF)).convert(LLMPlan.model_validate(answer))
    assert "tool_wrong_engine" in _types(problems)


def _without(answer: dict[str, Any], code: str) -> dict[str, Any]:
    answer["tasks"] = [t for t in answer["tasks"] if t["code"] != code]
    for task in answer["tasks"]:
        task["dependencies"] = [d for d in task["dependencies"] if d != code]
    return answer


def test_a_revision_keeps_codes_and_never_reuses_a_removed_one():
    # T-010 was removed by an earlier version: the history's highest code stays above it.
    base = _check(PlanningRequest(brief=BRIEF)).convert(LLMPlan.model_validate(_without(valid_answer(), "T-010")))[0]
    answer = _without(valid_answer(), "T-010")
    top = max(int(t["code"][2:]) for t in answer["tasks"])
    later = f"T-{top + 4:03d}"
    answer["tasks"].append(dict(answer["tasks"][-1], code="T-010", title="Level editor", dependencies=["T-001"]))
    answer["tasks"].append(dict(answer["tasks"][-1], code=later, title="Editor tests", dependencies=["T-010"]))
    answer["tasks"][2]["code"] = "t3"  # a kept code, written loosely
    answer["feedback"] = [{"point": "add a level editor", "handled": "added T-010"}]
    request = PlanningRequest(brief=BRIEF, previous=base, feedback=Feedback(text="Add a level editor"))
    draft, problems, codes = _check(request).convert(LLMPlan.model_validate(answer))
    assert problems == [], problems
    new_code = f"T-{top + 5:03d}"  # above every code the history and this answer use
    assert base.highest_code == top
    assert codes[-2] == new_code
    assert "T-010" not in codes
    assert codes[2] == "T-003"
    by_code = {t.code: t for t in draft.tasks}
    assert by_code[later].dependencies == [new_code]  # dependencies follow the renumbering
    assert draft.highest_code == top + 5
    assert {t.code for t in draft.tasks} - {new_code, later} <= {t.code for t in base.tasks}
    assert any(note.startswith("Feedback “add a level editor”") for note in draft.notes)


def test_free_text_feedback_must_be_answered_point_by_point():
    base = _check(PlanningRequest(brief=BRIEF)).convert(LLMPlan.model_validate(valid_answer()))[0]
    request = PlanningRequest(brief=BRIEF, previous=base, feedback=Feedback(text="Drop the map screen"))
    _draft, problems, _codes = _check(request).convert(LLMPlan.model_validate(valid_answer()))
    assert _types(problems) == {"feedback_unanswered"}


def test_a_schema_breaking_plan_is_a_list_of_problems():
    answer = valid_answer()
    answer["tasks"][0]["priority"] = 9
    answer["tasks"][1]["code"] = "first"
    _draft, problems, _codes = _check(PlanningRequest(brief=BRIEF)).convert(LLMPlan.model_validate(answer))
    assert "code_format" in _types(problems)
    assert any(p["loc"][-1] == "priority" for p in problems)


# --- Prompts, prices, configuration ---------------------------------------------------------------------


def test_prompts_are_versioned_data_and_name_the_brief_features_platforms_and_fitting_tools():
    prompts = load_prompts()
    assert prompts.version.startswith("planner/")
    planner = LLMPlanner(LLMConfig(model="m", base_url="http://127.0.0.1:1/v1"))
    prompt = planner.prompt(PlanningRequest(brief=BRIEF))
    for feature in ("double-jump", "wall-slide", "save-rooms", "boss-fights", "map-screen", "switch"):
        assert feature in prompt
    assert "- godot" in prompt
    assert "- unity" not in prompt
    assert '"type":"object"' in prompt  # prompted-json: the schema is in the prompt


def test_a_revision_prompt_carries_the_plan_the_feedback_and_the_next_free_code():
    base = get_planner("template").propose(PlanningRequest(brief=BRIEF))
    prompt = planning_prompt(
        PlanningRequest(brief=BRIEF, previous=base, feedback=Feedback(text="Bosses in a later milestone")),
        engine="godot",
        catalogue=LLMPlanner(LLMConfig(model="m")).catalogue,
    )
    assert "Bosses in a later milestone" in prompt
    assert base.tasks[0].code in prompt
    assert f"T-{base.highest_code:03d}" in prompt


def test_prices_come_from_the_table_local_models_are_free_unknown_ones_unknown():
    assert price_of("gpt-4o-mini", "openai") == (0.15, 0.6)
    assert price_of("claude-sonnet-4-20250514", "anthropic") == (3.0, 15.0)  # longest prefix
    assert price_of("qwen2.5:7b", "openai-compatible") == (0.0, 0.0)
    assert price_of("mystery", "openai") is None
    assert price_of("mystery", "openai", {"mystery": (1.0, 2.0)}) == (1.0, 2.0)


def test_the_api_key_never_shows_in_the_configuration_or_scrubbed_messages():
    config = LLMConfig(provider="openai", model="gpt-4o", api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(config)
    assert config.scrub("bad key sk-very-secret given") == "bad key *** given"
    assert config.mode == "tool"
    assert LLMConfig(provider="openai-compatible", model="m").mode == "prompted-json"
    assert LLMConfig(provider="openai-compatible", model="m", output_mode="native").mode == "native"


def test_missing_configuration_fails_with_what_to_set():
    with pytest.raises(PlanningFailed, match="GATEWAY_LLM_MODEL"):
        asyncio.run(LLMPlanner(LLMConfig(model="")).draft(PlanningRequest(brief=BRIEF)))
    with pytest.raises(PlanningFailed, match="GATEWAY_LLM_BASE_URL"):
        asyncio.run(LLMPlanner(LLMConfig(model="m")).draft(PlanningRequest(brief=BRIEF)))
    with pytest.raises(PlanningFailed, match="GATEWAY_LLM_API_KEY"):
        asyncio.run(LLMPlanner(LLMConfig(provider="anthropic", model="m")).draft(PlanningRequest(brief=BRIEF)))


# --- The repair loop with pydantic-ai's FunctionModel ---------------------------------------------------


def _tool_model(answers: list[dict[str, Any]], seen: list[list[Any]]) -> FunctionModel:
    def respond(messages: list[Any], info: AgentInfo) -> ModelResponse:
        seen.append(messages)
        data = answers[min(len(seen) - 1, len(answers) - 1)]
        return ModelResponse(parts=[ToolCallPart(tool_name=info.output_tools[0].name, args=data)])

    return FunctionModel(respond, model_name="function-model")


def test_problems_go_back_to_the_model_until_it_repairs_its_plan():
    seen: list[list[Any]] = []
    model = _tool_model([with_cycle(valid_answer()), valid_answer()], seen)
    steps: list[dict[str, Any]] = []

    async def progress(step: dict[str, Any]) -> None:
        steps.append(step)

    planner = LLMPlanner(LLMConfig(provider="openai", model="", output_mode="tool", max_attempts=3), model=model)
    drafted = asyncio.run(planner.draft(PlanningRequest(brief=BRIEF), progress=progress))
    assert drafted.provenance.attempts == 2
    assert drafted.provenance.planner == "llm"
    assert drafted.provenance.model == "function-model"
    assert "dependency cycle" in str(seen[1][-1])
    assert "dependency cycle" not in str(seen[0])
    assert [s["step"] for s in steps] == ["drafting", "repairing", "validated"]


def test_after_the_last_attempt_the_run_fails_with_every_problem():
    seen: list[list[Any]] = []
    model = _tool_model([with_unknown_tool(valid_answer())], seen)
    planner = LLMPlanner(LLMConfig(provider="openai", model="", output_mode="tool", max_attempts=2), model=model)
    with pytest.raises(PlanningFailed) as failure:
        asyncio.run(planner.draft(PlanningRequest(brief=BRIEF)))
    assert len(seen) == 2
    assert [p["type"] for p in failure.value.problems] == ["tool_unknown"]
    assert failure.value.provenance is not None
    assert failure.value.provenance.attempts == 2


def test_text_answers_are_parsed_and_unreadable_ones_repaired():
    answers = ["<think>let me plan</think>I am not sure.", "```json\n" + json.dumps(valid_answer()) + "\n```"]
    calls: list[int] = []

    def respond(messages: list[Any], info: AgentInfo) -> ModelResponse:
        calls.append(1)
        return ModelResponse(parts=[TextPart(answers[len(calls) - 1])])

    planner = LLMPlanner(
        LLMConfig(provider="openai-compatible", model="", output_mode="prompted", max_attempts=3),
        model=FunctionModel(respond, model_name="text-model"),
    )
    drafted = asyncio.run(planner.draft(PlanningRequest(brief=BRIEF)))
    assert len(calls) == 2
    assert drafted.provenance.attempts == 2
    assert len(drafted.draft.tasks) == len(valid_answer()["tasks"])


def test_structured_edits_in_the_feedback_are_applied_before_the_model_reads_it():
    base = _check(PlanningRequest(brief=BRIEF)).convert(LLMPlan.model_validate(valid_answer()))[0]
    first = base.tasks[0].code
    request = PlanningRequest(
        brief=BRIEF,
        previous=base,
        feedback=Feedback.model_validate({"text": "More bosses", "edits": [{"op": "remove", "code": "T-036"}]}),
    )
    prepared = LLMPlanner(LLMConfig(model="m")).prepare(request)
    assert "T-036" not in {t.code for t in prepared.previous.tasks}
    assert prepared.feedback.text == "More bosses"
    assert prepared.feedback.edits == []
    assert prepared.previous.tasks[0].code == first


def test_the_planner_is_registered_and_has_a_synchronous_form():
    seen: list[list[Any]] = []
    planner = get_planner("llm", config=LLMConfig(provider="openai", model="", output_mode="tool"))
    planner.runner._model = _tool_model([valid_answer()], seen)
    draft = planner.propose(PlanningRequest(brief=GameBrief(**BRIEF.model_dump())))
    assert len(draft.tasks) == len(valid_answer()["tasks"])
