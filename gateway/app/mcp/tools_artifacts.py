"""MCP tools over artifacts: hand in a file for a task and read its validation report."""

import base64
import binascii
from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from gateway.app.errors import InvalidInput
from gateway.app.mcp import answers
from gateway.app.mcp.common import READ_ONLY, WRITE, AgentId, Deps, OptionalTask, ProjectId, answer, tool_call
from gateway.app.services import artifacts, briefing

# Inline content travels in one JSON message held in memory: large files go through workspace_path instead.
INLINE_CHARS = 10_000_000


def register(server: MCPServer, deps: Deps) -> None:
    """Add the artifact tools to the server."""
    db, store, settings = deps.db, deps.store, deps.settings

    @server.tool(annotations=WRITE)
    def submit_artifact(
        ctx: Context,
        project_id: ProjectId,
        name: Annotated[str, Field(min_length=1, max_length=255, description="File name, e.g. player.gd")],
        task: Annotated[OptionalTask, Field(description="Task code (T-004) or id the file is for")] = None,
        content: Annotated[str | None, Field(max_length=INLINE_CHARS, description="Text content")] = None,
        content_base64: Annotated[
            str | None, Field(max_length=INLINE_CHARS * 4 // 3 + 4, description="Binary content, base64")
        ] = None,
        workspace_path: Annotated[str | None, Field(description="Or: a path in the project workspace")] = None,
        path: Annotated[str | None, Field(description="Where it belongs in the project")] = None,
        category: Annotated[
            Literal["code", "asset", "document", "screenshot"] | None, Field(description="Inferred when left out")
        ] = None,
        agent_id: AgentId = None,
    ) -> Annotated[CallToolResult, answers.ArtifactReport]:
        """Hand in a file for a task (text, base64 or a workspace path); returns its validation report."""
        with tool_call(ctx, "submit_artifact", deps, project_id=project_id, agent_id=agent_id) as call:
            given = [value is not None for value in (content, content_base64, workspace_path)]
            if sum(given) != 1:
                raise InvalidInput("Give exactly one of content, content_base64 and workspace_path.")
            task_id = None
            if task is not None:
                with db.read_session() as session:
                    task_id = briefing.resolve_task(session, project_id=project_id, ref=task).id
            target = artifacts.FileTarget(project_id, task_id, category, path)
            if workspace_path is not None:
                stored = artifacts.register_workspace_file(
                    db,
                    store,
                    target=artifacts.FileTarget(project_id, task_id, category, workspace_path),
                    workspace=settings.workspace_for(project_id),
                    max_bytes=settings.max_upload_bytes,
                    limits=settings.validation_limits,
                    quota=settings.max_project_storage_bytes,
                    actor=call.actor,
                )
            else:
                data = content.encode() if content is not None else _decode(content_base64)  # type: ignore[arg-type]  # exactly one of the three was given (checked above)
                stored = artifacts.store_bytes(
                    db,
                    store,
                    target=target,
                    name=name,
                    data=data,
                    max_bytes=settings.max_upload_bytes,
                    limits=settings.validation_limits,
                    quota=settings.max_project_storage_bytes,
                    actor=call.actor,
                )
            return answer(artifacts.report(stored))

    @server.tool(annotations=READ_ONLY)
    def get_artifact(
        ctx: Context,
        project_id: ProjectId,
        artifact_id: Annotated[int, Field(description="The artifact_id submit_artifact answered")],
    ) -> Annotated[CallToolResult, answers.ArtifactReport]:
        """An artifact's validation report."""
        with tool_call(ctx, "get_artifact", deps, project_id=project_id), db.read_session() as session:
            return answer(
                artifacts.report(artifacts.get(session=session, project_id=project_id, artifact_id=artifact_id))
            )


def _decode(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("content_base64 is not valid base64.") from None
