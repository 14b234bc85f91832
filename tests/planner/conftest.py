"""Fixtures for the planner tests: pure Python, no database."""

import pytest

from gateway.app.planner import GameBrief, PlanDraft, PlanningRequest, get_planner, load_catalogue
from gateway.app.planner.catalogue import Catalogue
from gateway.app.planner.template import TemplatePlanner


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def planner() -> TemplatePlanner:
    return get_planner("template")


@pytest.fixture
def brief() -> GameBrief:
    return GameBrief(title="Star Courier", genre="platformer-2d", engine="godot", scope="prototype")


@pytest.fixture
def plan(planner: TemplatePlanner, brief: GameBrief) -> PlanDraft:
    return planner.propose(PlanningRequest(brief=brief))
