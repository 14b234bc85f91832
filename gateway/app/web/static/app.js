// Gateway web UI: one page that talks to the REST API (/api/v1) and the WebSocket event streams.
// It holds no business rule: every decision is the server's; this file only shows state and sends requests.
"use strict";

// ---------------------------------------------------------------------------------------------------------
// DOM helpers (text is always set as text: nothing from the API is parsed as HTML)

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "value") el.value = value;
    else if (key === "checked" || key === "selected" || key === "disabled" || key === "open") el[key] = !!value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replace an element's children (nulls and nested arrays are skipped, unlike Element.append).
function fill(el, ...children) {
  return append(clear(el), children);
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

function field(labelText, control, hint) {
  const id = control.id || nextId("f");
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id, text: labelText }), control,
    hint ? h("div", { class: "muted small", text: hint }) : null);
}

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString();
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const hrs = Math.floor(m / 60);
  return `${hrs}h ${m % 60}m`;
}

function badge(text, cls) {
  return h("span", { class: `badge ${cls || String(text).replace(/\s+/g, "-")}`, text });
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// ---------------------------------------------------------------------------------------------------------
// The API

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

async function api(method, path, { json, body, headers } = {}) {
  const url = path.startsWith("/") ? path : `/api/v1/${path}`;
  const sent = { Accept: "application/json, application/problem+json", ...(headers || {}) };
  if (json !== undefined) {
    sent["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  if (method !== "GET") {
    const csrf = cookie("gateway_csrf") || (state.session && state.session.csrf_token);
    if (csrf) sent["X-CSRF-Token"] = csrf;
  }
  let response;
  try {
    response = await fetch(url, { method, headers: sent, body, credentials: "same-origin" });
  } catch (error) {
    throw new ApiError(0, { title: "The gateway cannot be reached", detail: String(error.message || error) });
  }
  let data = null;
  if (response.status !== 204) {
    const type = response.headers.get("content-type") || "";
    data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  }
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data
      : { title: response.statusText || `HTTP ${response.status}`, detail: typeof data === "string" ? data.slice(0, 300) : null };
    problem.status = problem.status || response.status;
    if (response.status === 401 && !url.startsWith("/api/v1/session")) showLogin(problem);
    throw new ApiError(response.status, problem);
  }
  return { status: response.status, data, headers: response.headers };
}

const get = async (path) => (await api("GET", path)).data;
const post = (path, json) => api("POST", path, { json: json === undefined ? {} : json });

// An API error is shown where it happened: its problem's title and detail (and field errors), never a blank page.
function problemBox(error) {
  const p = error instanceof ApiError ? error.problem : { title: "Something went wrong", detail: String(error && error.message || error) };
  const errors = Array.isArray(p.errors) ? p.errors : [];
  return h("div", { class: "problem", role: "alert" },
    h("strong", { text: p.title || "Error" }),
    p.detail ? h("span", { class: "detail", text: p.detail }) : null,
    errors.length ? h("ul", {}, errors.slice(0, 10).map((e) =>
      h("li", { text: `${(e.loc || []).filter((x) => x !== "body").join(".")}${e.loc ? ": " : ""}${e.msg || JSON.stringify(e)}` }))) : null);
}

function showError(slot, error) {
  fill(slot, problemBox(error));
}

// Run an action from a button: disable it while it runs, show the problem next to it if it fails.
async function act(button, slot, fn) {
  if (slot) clear(slot);
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (error) {
    if (slot) showError(slot, error);
    else throw error;
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Dialogs (native <dialog>: modal, focus kept inside, Escape closes)

function openDialog({ title, body, submitLabel = "OK", danger = false, onSubmit }) {
  return new Promise((resolve) => {
    const errors = h("div", { class: "errors" });
    const submit = h("button", { type: "submit", class: danger ? "danger" : "primary", text: submitLabel });
    const form = h("form", { method: "dialog" },
      h("h2", { text: title }), body, errors,
      h("div", { class: "row" }, submit, h("button", { type: "button", text: "Cancel", onclick: () => dialog.close("cancel") })));
    const dialog = h("dialog", { "aria-label": title }, form);
    let result;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const out = await act(submit, errors, async () => ({ value: onSubmit ? await onSubmit(new FormData(form), form) : true }));
      if (out) {
        result = out.value;
        dialog.close("ok");
      }
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok" ? result : undefined);
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = form.querySelector("input, textarea, select");
    if (first) first.focus();
  });
}

function confirmDialog(title, message, { confirmLabel = "Confirm", danger = false, onConfirm } = {}) {
  return openDialog({ title, body: h("p", { text: message }), submitLabel: confirmLabel, danger, onSubmit: onConfirm });
}

// ---------------------------------------------------------------------------------------------------------
// Live updates: a WebSocket that resumes from the last event it applied (after=<cursor>), never twice.

const liveStreams = new Set();

function setLiveBadge() {
  const badgeEl = $("#live");
  if (!badgeEl) return;
  const states = Array.from(liveStreams).map((s) => s.status);
  const status = states.includes("reconnecting") ? "reconnecting" : states.includes("live") ? "live" : "off";
  badgeEl.dataset.state = status;
  badgeEl.textContent = status === "live" ? "Live" : status === "reconnecting" ? "Reconnecting…" : "Offline";
}

class EventStream {
  constructor(path, after, { cursorOf, onEvent, onReset }) {
    this.path = path;
    this.after = after;
    this.cursorOf = cursorOf;
    this.onEvent = onEvent;
    this.onReset = onReset;
    this.status = "off";
    this.stopped = false;
    this.paused = false;
    this.delay = 250;
    liveStreams.add(this);
    this.open();
  }

  open() {
    if (this.stopped || this.paused) return;
    const url = new URL(this.path, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("after", String(this.after));
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      if (frame.kind === "hello") {
        this.delay = 250;
        this.setStatus("live");
      } else if (frame.kind === "event") {
        const cursor = this.cursorOf(frame.event);
        if (cursor <= this.after) return; // already applied: nothing is shown twice
        this.after = cursor;
        try { this.onEvent(frame.event); } catch (error) { console.error(error); }
      }
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (event.code === 4401) { this.setStatus("off"); showLogin(); return; }
      if (event.code === 4403 || event.code === 4404) { this.setStatus("off"); return; }
      if (event.code === 4410 || event.code === 4400) { this.setStatus("reconnecting"); if (this.onReset) this.onReset(); return; }
      if (this.paused) { this.setStatus("reconnecting"); return; }
      this.setStatus("reconnecting");
      setTimeout(() => this.open(), this.delay);
      this.delay = Math.min(this.delay * 2, 5000);
    };
  }

  setStatus(status) {
    this.status = status;
    setLiveBadge();
  }

  // A dropped connection (for tests and the person's own "reconnect"): resume() reopens from the last cursor.
  pause() {
    this.paused = true;
    if (this.ws) this.ws.close(4000, "paused");
  }

  resume() {
    this.paused = false;
    if (!this.ws) this.open();
  }

  stop() {
    this.stopped = true;
    liveStreams.delete(this);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    setLiveBadge();
  }
}

function projectStream(projectId, after, handlers) {
  return new EventStream(`/api/v1/projects/${encodeURIComponent(projectId)}/events/ws`, after,
    { cursorOf: (e) => e.seq, ...handlers });
}

// Every project's stream (administrators only once roles exist): without it the screen simply is not live.
async function allProjectsStream(handlers) {
  try {
    const page = await get("events?limit=1");
    return new EventStream("/api/v1/events/ws", page.head || 0, { cursorOf: (e) => e.position, ...handlers });
  } catch (error) {
    if (error.status === 401) throw error;
    return null;
  }
}

// What an event means, in a sentence.
function describeEvent(ev) {
  const d = ev.data || {};
  const who = ev.actor || "someone";
  const task = d.code ? `${d.code}` : d.task_id ? `task #${d.task_id}` : "a task";
  switch (ev.type) {
    case "project.created": return `${who} created the project`;
    case "project.updated": return `${who} changed ${(d.fields || []).join(", ") || "the project"}`;
    case "project.status_changed": return `project ${d.from} → ${d.to}`;
    case "project.deleted": return `${who} deleted the project`;
    case "plan.proposed": return `${who} proposed version ${d.version} (${d.tasks} tasks)`;
    case "plan.accepted": return `${who} accepted version ${d.version}`;
    case "plan.rejected": return `${who} rejected version ${d.version}${d.reason ? `: ${d.reason}` : ""}`;
    case "plan.superseded": return `version ${d.version} superseded`;
    case "task.claimed": return `${d.agent_id || who} ${d.renewed ? "renewed the claim on" : "claimed"} ${task}`;
    case "task.released": return `${d.agent_id || who} released ${task}`;
    case "task.lease_expired": return `the claim of ${d.agent_id || "an agent"} on ${task} expired`;
    case "task.started": return `${d.agent_id || who} started ${task}`;
    case "task.blocked": return `${task} blocked: ${d.reason || ""}`;
    case "task.unblocked": return `${who} unblocked ${task}`;
    case "task.submitted": return `${who} submitted ${task} for review`;
    case "task.completed": return `${who} completed ${task}`;
    case "task.reopened": return `${who} reopened ${task}`;
    case "task.cancelled": return `${who} cancelled ${task}`;
    case "task.current_changed": return d.code ? `current task is now ${d.code}` : "no current task left";
    case "context.updated": return `${who} updated the ${d.scope === "task" ? `context of task #${d.task_id}` : "global context"} (v${d.version})`;
    case "artifact.created": return `${who} handed in ${d.name || `artifact #${d.artifact_id}`}`;
    case "artifact.validated": return `artifact #${d.artifact_id} is ${d.validation_status || d.status || "validated"}`;
    case "artifact.deleted": return `${who} deleted artifact #${d.artifact_id}`;
    case "job.queued": return `planning job #${d.job_id} queued`;
    case "job.running": return `planning job #${d.job_id} running`;
    case "job.progress": return `planning job #${d.job_id}: ${d.message || d.stage || "progress"}`;
    case "job.done": return `planning job #${d.job_id} done${d.plan_version ? ` (version ${d.plan_version})` : ""}`;
    case "job.failed": return `planning job #${d.job_id} failed${d.error ? `: ${d.error}` : ""}`;
    case "job.cancelled": return `planning job #${d.job_id} cancelled`;
    default: return `${who}: ${ev.type}`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Session (identities contract): GET /api/v1/session; a 404 means the gateway predates sessions: local mode.

const state = { session: null, shell: null, screen: null, stopGlobal: null };

async function loadSession() {
  try {
    state.session = (await api("GET", "/api/v1/session")).data;
  } catch (error) {
    if (error.status === 404 || error.status === 405) state.session = { local: true, name: "local user", auth_mode: "local" };
    else if (error.status === 401) state.session = null;
    else throw error;
  }
  renderWho();
  return state.session;
}

function renderWho() {
  const who = $("#who");
  clear(who);
  const s = state.session;
  if (!s) return;
  who.append(h("span", { text: s.local || s.auth_mode === "local" ? `${s.name || "local user"} (local mode)` : `${s.name} · ${s.role || s.kind}` }));
  if (!s.local && s.auth_mode !== "local") {
    who.append(" ", h("button", { class: "link", text: "Log out", style: "color:#fff", onclick: async () => {
      await api("DELETE", "/api/v1/session").catch(() => null);
      state.session = null;
      showLogin();
    } }));
  }
}

function showLogin(problem) {
  if (location.hash.startsWith("#/login")) return;
  sessionStorage.setItem("gateway:after-login", location.hash || "#/projects");
  if (problem) sessionStorage.setItem("gateway:login-problem", JSON.stringify(problem));
  location.hash = "#/login";
}

function LoginScreen() {
  return {
    title: "Log in",
    mount(root) {
      const token = h("input", { type: "password", name: "token", autocomplete: "current-password", required: true });
      const errors = h("div", { class: "errors" });
      const stored = sessionStorage.getItem("gateway:login-problem");
      sessionStorage.removeItem("gateway:login-problem");
      if (stored) errors.append(problemBox(new ApiError(401, JSON.parse(stored))));
      const submit = h("button", { class: "primary", type: "submit", text: "Log in" });
      const form = h("form", { class: "panel login", onsubmit: async (event) => {
        event.preventDefault();
        await act(submit, errors, async () => {
          const response = await api("POST", "/api/v1/session", { json: { token: token.value } });
          state.session = response.data;
          renderWho();
          location.hash = sessionStorage.getItem("gateway:after-login") || "#/projects";
        });
      } },
      h("h1", { text: "Log in to Gateway" }),
      h("p", { class: "muted", text: "Paste a user token (an administrator creates one with `gateway token create`)." }),
      field("Token", token), errors, submit);
      root.append(form);
      token.focus();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Projects

const PLATFORMS = ["windows", "linux", "macos", "web", "android", "ios", "switch", "playstation", "xbox"];
const ART_STYLES = ["pixel art", "low poly 3D", "hand-drawn", "vector", "voxel", "realistic 3D", "cel-shaded"];

function datalist(id, options) {
  return h("datalist", { id }, options.map((o) => h("option", { value: o.value, text: o.label || o.value })));
}

async function loadProgress(project) {
  if (!project.active_plan_id) return null;
  const plan = await get(`projects/${encodeURIComponent(project.id)}/plans/active`);
  const tasks = plan.tasks || [];
  return { done: tasks.filter((t) => t.status === "done").length, total: tasks.filter((t) => t.status !== "cancelled").length, version: plan.version };
}

function progressBar(done, total) {
  const pct = total ? Math.round((100 * done) / total) : 0;
  return h("div", { class: "row small" },
    h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": total, "aria-valuenow": done, "aria-label": "Tasks done" },
      h("span", { style: `width:${pct}%` })),
    h("span", { text: `${done}/${total} done (${pct}%)` }));
}

function ProjectsScreen() {
  let stream = null;
  let root = null;
  const refresh = debounce(() => render(), 1000);

  async function render() {
    const list = $("#project-list", root);
    if (!list) return;
    let page;
    try {
      page = await get("projects?limit=100");
    } catch (error) {
      showError(list, error);
      return;
    }
    clear(list);
    if (!page.items.length) list.append(h("p", { class: "muted", text: "No project yet: create one from a brief below." }));
    const rows = page.items.map((p) => {
      const progress = h("td", {}, h("span", { class: "muted small", text: p.active_plan_id ? "…" : "no accepted plan yet" }));
      if (p.active_plan_id) {
        loadProgress(p).then((pr) => fill(progress, progressBar(pr.done, pr.total)))
          .catch((error) => fill(progress, problemBox(error)));
      }
      const target = p.active_plan_id ? "board" : "plan";
      return h("tr", { "data-project": p.id },
        h("td", {}, h("a", { href: `#/projects/${encodeURIComponent(p.id)}/${target}`, text: p.name }), h("div", { class: "muted small mono", text: p.id })),
        h("td", {}, badge(p.status)),
        h("td", { class: "small", text: [p.brief && p.brief.genre, p.brief && p.brief.engine].filter(Boolean).join(" · ") }),
        progress,
        h("td", { class: "small muted", text: fmtTime(p.updated_at) }));
    });
    if (rows.length) {
      list.append(h("table", {},
        h("thead", {}, h("tr", {}, ["Project", "Status", "Genre · engine", "Progress", "Updated"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows)));
    }
    if (page.next_cursor) list.append(h("p", { class: "muted small", text: "Showing the 100 most recent projects." }));
  }

  async function createForm() {
    const errors = h("div", { class: "errors" });
    let catalogue = { genres: [], engines: [], features: [] };
    try { catalogue = await get("catalogue/templates"); } catch (error) { errors.append(problemBox(error)); }
    const name = h("input", { name: "name", required: true, maxlength: 200, placeholder: "Star Courier" });
    const slug = h("input", { name: "id", pattern: "[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?", placeholder: "star-courier (optional)" });
    const pitch = h("textarea", { name: "pitch", class: "prose", maxlength: 5000, placeholder: "A courier dashes across a collapsing space station…" });
    const genre = h("input", { name: "genre", list: "genres", placeholder: "choose or type" });
    const engine = h("input", { name: "engine", list: "engines", placeholder: "choose or type" });
    const artStyle = h("input", { name: "art_style", list: "art-styles", placeholder: "choose or type" });
    const scope = h("select", { name: "scope" }, ["prototype", "mvp", "full"].map((s) => h("option", { value: s, text: s, selected: s === "mvp" })));
    const platforms = h("fieldset", {}, h("legend", { text: "Platforms" }),
      h("div", { class: "checks" }, PLATFORMS.map((p) => h("label", { class: "inline" }, h("input", { type: "checkbox", name: "platforms", value: p }), p))),
      field("Other platforms (comma-separated)", h("input", { name: "platforms_other" })));
    const features = h("fieldset", {}, h("legend", { text: "Features" }),
      h("div", { class: "checks" }, catalogue.features.map((f) => h("label", { class: "inline" }, h("input", { type: "checkbox", name: "features", value: f.key }), f.name || f.key))),
      field("Other features (comma-separated, free text)", h("input", { name: "features_other" })));
    const review = h("label", { class: "inline" }, h("input", { type: "checkbox", name: "require_review" }), "A person approves each finished task (review)");
    const propose = h("label", { class: "inline" }, h("input", { type: "checkbox", name: "propose", checked: true }), "Ask the AI for a first plan right away");
    const submit = h("button", { class: "primary", type: "submit", text: "Create project" });
    const form = h("form", { "aria-label": "New project" },
      datalist("genres", catalogue.genres.map((g) => ({ value: g.key, label: g.name }))),
      datalist("engines", catalogue.engines.map((e) => ({ value: e.key, label: e.name }))),
      datalist("art-styles", ART_STYLES.map((a) => ({ value: a }))),
      h("div", { class: "grid2" }, field("Name", name), field("Id", slug, "Lower-case letters, digits and dashes")),
      field("Pitch", pitch),
      h("div", { class: "grid2" }, field("Genre", genre), field("Engine", engine), field("Art style", artStyle), field("Scope", scope)),
      platforms, features, h("div", { class: "stack" }, review, propose), errors, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const split = (v) => String(v || "").split(",").map((s) => s.trim()).filter(Boolean);
      const brief = {
        title: data.get("name"),
        pitch: data.get("pitch") || null,
        genre: data.get("genre") || null,
        engine: data.get("engine") || null,
        art_style: data.get("art_style") || null,
        scope: data.get("scope"),
        platforms: [...data.getAll("platforms"), ...split(data.get("platforms_other"))],
        features: [...data.getAll("features"), ...split(data.get("features_other"))],
      };
      await act(submit, errors, async () => {
        const body = { name: data.get("name"), description: brief.pitch, brief, require_review: data.get("require_review") === "on" };
        if (data.get("id")) body.id = data.get("id");
        const project = (await post("projects", body)).data;
        const target = `#/projects/${encodeURIComponent(project.id)}/plan`;
        if (data.get("propose") === "on") {
          const response = await post(`projects/${encodeURIComponent(project.id)}/plans`);
          if (response.status === 202) sessionStorage.setItem(`gateway:job:${project.id}`, JSON.stringify(response.data));
          else { location.hash = `${target}?v=${response.data.version}`; return; }
        }
        location.hash = target;
      });
    });
    return form;
  }

  return {
    title: "Projects",
    async mount(el) {
      root = el;
      el.append(h("h1", { text: "Projects" }), h("section", { class: "panel", id: "project-list", "aria-live": "polite" }, "Loading…"));
      const details = h("details", { class: "panel", id: "new-project" }, h("summary", {}, h("strong", { text: "New project from a brief" })));
      el.append(details);
      await render();
      details.append(await createForm());
      if ($("#project-list p.muted", el)) details.open = true;
      stream = await allProjectsStream({ onEvent: (ev) => { if (ev.type.startsWith("project.") || ev.type.startsWith("plan.") || ev.type.startsWith("task.")) refresh(); }, onReset: () => location.reload() });
    },
    destroy() { if (stream) stream.stop(); },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The project shell: tabs, the live stream of the project, and its activity feed

const TABS = [["plan", "Plan"], ["board", "Board"], ["context", "Context"], ["artifacts", "Artifacts"], ["agents", "Agents"]];

class ProjectShell {
  constructor(projectId) {
    this.projectId = projectId;
    this.pid = encodeURIComponent(projectId);
    this.seen = new Set();
    this.screen = null;
  }

  async start(root) {
    this.root = root;
    this.project = await get(`projects/${this.pid}`);
    this.title = h("h1", { text: this.project.name });
    this.tabs = h("nav", { class: "tabs", "aria-label": "Project" });
    this.body = h("div", { class: "screen" });
    this.feed = h("ol", { class: "feed", id: "activity", "aria-label": "Activity" });
    const aside = h("aside", { class: "panel", "aria-labelledby": "activity-h" }, h("h2", { id: "activity-h", text: "Activity" }), this.feed);
    this.layout = h("div", { class: "layout" }, this.body, aside);
    root.append(h("div", { class: "row" }, this.title, badge(this.project.status)), this.tabs, this.layout);
    await this.loadFeed(this.project.event_seq);
    this.stream = projectStream(this.projectId, this.project.event_seq, {
      onEvent: (ev) => this.onEvent(ev),
      onReset: () => this.reload(),
    });
  }

  async loadFeed(head) {
    const after = Math.max(0, head - 40);
    const page = await get(`projects/${this.pid}/events?after=${after}&limit=40`).catch(() => ({ items: [] }));
    for (const ev of page.items) if (ev.seq <= head) this.addToFeed(ev);
  }

  addToFeed(ev) {
    if (this.seen.has(ev.seq)) return;
    this.seen.add(ev.seq);
    const item = h("li", { "data-seq": ev.seq, "data-type": ev.type }, h("span", { text: describeEvent(ev) }),
      h("time", { datetime: ev.created_at, text: `#${ev.seq} · ${fmtTime(ev.created_at)}` }));
    this.feed.prepend(item);
    while (this.feed.children.length > 200) this.feed.lastChild.remove();
  }

  onEvent(ev) {
    this.addToFeed(ev);
    if (ev.type === "task.current_changed") this.project.current_task_id = (ev.data || {}).task_id ?? null;
    if (ev.type === "project.deleted") { location.hash = "#/projects"; return; }
    if (ev.type.startsWith("project.") || ev.type === "plan.accepted" || ev.type === "task.current_changed") {
      get(`projects/${this.pid}`).then((p) => { this.project = p; this.title.textContent = p.name; }).catch(() => null);
    }
    if (this.screen && this.screen.onEvent) this.screen.onEvent(ev);
  }

  async reload() {
    this.stop();
    clear(this.root);
    await this.start(this.root);
    if (this.screen) this.show(this.tab, this.params, true);
  }

  show(tab, params, force) {
    if (!force && this.screen && this.tab === tab && JSON.stringify(params) === JSON.stringify(this.params) && this.screen.update) {
      return;
    }
    if (this.screen && this.screen.destroy) this.screen.destroy();
    this.tab = tab;
    this.params = params;
    append(clear(this.tabs), [TABS.map(([key, label]) => h("a", { href: `#/projects/${this.pid}/${key}`, text: label, "aria-current": key === tab ? "page" : null }))]);
    // Each screen renders into its own element: a late reply to a screen already left lands nowhere visible.
    const container = h("div", { class: "screen-body" });
    fill(this.body, container);
    this.layout.classList.toggle("wide", tab === "board");
    const make = { plan: PlanScreen, board: BoardScreen, context: ContextScreen, artifacts: ArtifactsScreen, agents: ProjectAgentsScreen }[tab];
    this.screen = make(this, params);
    document.title = `${this.screen.title} · ${this.project.name} · Gateway`;
    Promise.resolve(this.screen.mount(container)).catch((error) => container.append(problemBox(error)));
  }

  stop() {
    if (this.screen && this.screen.destroy) this.screen.destroy();
    if (this.stream) this.stream.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Plan and consensus

const DISCIPLINES = ["design", "programming", "art", "audio", "ui", "qa", "release"];

function provenanceText(plan) {
  const p = plan.provenance;
  if (!p) return `made by ${plan.created_by}`;
  const parts = [`planner: ${p.planner || plan.created_by}`];
  if (p.provider || p.model) parts.push(`model: ${[p.provider, p.model].filter(Boolean).join("/")}`);
  if (p.prompt_version) parts.push(`prompt ${p.prompt_version}`);
  if (p.attempts) parts.push(`${p.attempts} attempt${p.attempts > 1 ? "s" : ""}`);
  if (p.tokens_in != null || p.tokens_out != null) parts.push(`tokens ${p.tokens_in ?? "?"} in / ${p.tokens_out ?? "?"} out`);
  if (p.latency_ms != null) parts.push(`${(p.latency_ms / 1000).toFixed(1)} s`);
  if (p.cost_usd != null) parts.push(`$${Number(p.cost_usd).toFixed(4)}`);
  return parts.join(" · ");
}

function estimateText(e) {
  if (!e) return "";
  return [e.story_points != null ? `${e.story_points} pt` : null, e.time_hours != null ? `${e.time_hours} h` : null].filter(Boolean).join(" · ");
}

function deliverableText(d) {
  if (typeof d === "string") return d;
  return `${d.name} (${d.category}${d.required === false ? ", optional" : ""})`;
}

function toolText(t) {
  return typeof t === "string" ? t : t.name || JSON.stringify(t);
}

function milestoneGroups(plan) {
  const order = (plan.milestones || (plan.details && plan.details.milestones) || []).map((m) => (typeof m === "string" ? { key: m, title: m } : m));
  const groups = new Map(order.map((m) => [m.key, { milestone: m, tasks: [] }]));
  for (const task of plan.tasks || []) {
    const key = task.milestone || "";
    if (!groups.has(key)) groups.set(key, { milestone: key ? { key, title: key } : { key: "", title: order.length ? "No milestone" : "Tasks" }, tasks: [] });
    groups.get(key).tasks.push(task);
  }
  return Array.from(groups.values()).filter((g) => g.tasks.length);
}

function taskDialogFields(task, milestones) {
  const t = task || {};
  const crit = (t.acceptance_criteria || []).join("\n");
  return {
    title: h("input", { name: "title", required: true, maxlength: 300, value: t.title || "" }),
    description: h("textarea", { name: "description", class: "prose", value: t.description || "" }),
    discipline: h("select", { name: "discipline" }, DISCIPLINES.map((d) => h("option", { value: d, text: d, selected: d === (t.discipline || "programming") }))),
    priority: h("input", { name: "priority", type: "number", min: 1, max: 5, value: t.priority || 3 }),
    story_points: h("input", { name: "story_points", type: "number", min: 1, max: 100, value: (t.estimates && t.estimates.story_points) || 3 }),
    time_hours: h("input", { name: "time_hours", type: "number", min: 0, step: "0.5", value: (t.estimates && t.estimates.time_hours) || 4 }),
    dependencies: h("input", { name: "dependencies", value: (t.dependencies || []).join(", "), placeholder: "T-001, T-002" }),
    criteria: h("textarea", { name: "criteria", class: "prose", value: crit, placeholder: "One criterion per line" }),
    tools: h("input", { name: "tools", value: (t.mcp_tools || []).map(toolText).join(", "), placeholder: "godot, blender" }),
    milestone: milestones && milestones.length ? h("select", { name: "milestone" }, milestones.map((m) =>
      h("option", { value: m.key, text: m.title || m.key, selected: m.key === (t.milestone || milestones[0].key) }))) : null,
  };
}

function taskDialogBody(f) {
  return h("div", {}, field("Title", f.title), field("Description", f.description),
    h("div", { class: "grid2" }, field("Discipline", f.discipline), field("Priority (1-5)", f.priority),
      field("Story points", f.story_points), field("Hours", f.time_hours)),
    field("Depends on (task codes)", f.dependencies), field("Acceptance criteria", f.criteria), field("Suggested MCP tools", f.tools),
    f.milestone ? field("Milestone", f.milestone) : null);
}

function readTaskDialog(data) {
  const list = (v, sep) => String(v || "").split(sep).map((s) => s.trim()).filter(Boolean);
  return {
    title: String(data.get("title")).trim(),
    description: String(data.get("description") || ""),
    discipline: data.get("discipline"),
    priority: Number(data.get("priority")),
    estimates: { story_points: Number(data.get("story_points")), time_hours: Number(data.get("time_hours")) },
    dependencies: list(data.get("dependencies"), ","),
    acceptance_criteria: list(data.get("criteria"), "\n"),
    mcp_tools: list(data.get("tools"), ","),
    ...(data.get("milestone") ? { milestone: data.get("milestone") } : {}),
  };
}

function changedFields(task, next) {
  const changes = {};
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  if (next.title !== task.title) changes.title = next.title;
  if (next.description !== (task.description || "")) changes.description = next.description;
  if (next.discipline !== task.discipline) changes.discipline = next.discipline;
  if (next.priority !== task.priority) changes.priority = next.priority;
  const est = task.estimates || {};
  if (next.estimates.story_points !== est.story_points || next.estimates.time_hours !== est.time_hours) changes.estimates = next.estimates;
  if (!same(next.dependencies, task.dependencies || [])) changes.dependencies = next.dependencies;
  if (!same(next.acceptance_criteria, task.acceptance_criteria || [])) changes.acceptance_criteria = next.acceptance_criteria;
  if (!same(next.mcp_tools, (task.mcp_tools || []).map(toolText))) changes.mcp_tools = next.mcp_tools;
  if (next.milestone && next.milestone !== task.milestone) changes.milestone = next.milestone;
  return changes;
}

function describeEdit(edit) {
  switch (edit.op) {
    case "add": return `Add "${edit.task.title}"${edit.after ? ` after ${edit.after}` : ""}`;
    case "remove": return `Remove ${edit.code}`;
    case "edit": return `Edit ${edit.code}: ${Object.keys(edit.changes).join(", ")}`;
    case "move": return `Move ${edit.code} ${edit.after ? `after ${edit.after}` : "to the top"}`;
    case "split": return `Split ${edit.code} into ${edit.into.length}: ${edit.into.map((p) => p.title).join(" / ")}`;
    case "merge": return `Merge ${edit.codes.join(" + ")}${edit.into && edit.into.title ? ` as "${edit.into.title}"` : ""}`;
    default: return JSON.stringify(edit);
  }
}

function PlanScreen(shell, params) {
  const pid = shell.pid;
  let root = null;
  let plans = [];
  let plan = null;
  let edits = [];
  const merging = new Set();
  let job = null;
  let jobTimer = null;
  const reloadSoon = debounce(() => loadAll(false), 250);

  const selected = () => Number(params.v) || (plan && plan.version) || null;

  function go(query) {
    const q = new URLSearchParams(query).toString();
    location.hash = `#/projects/${pid}/plan${q ? `?${q}` : ""}`;
  }

  async function loadAll(first) {
    try {
      plans = (await get(`projects/${pid}/plans`)).items;
    } catch (error) {
      fill(root, problemBox(error));
      return;
    }
    const version = Number(params.v) || (plans.find((p) => p.status === "accepted") || plans[0] || {}).version;
    plan = version ? await get(`projects/${pid}/plans/${version}`).catch((error) => ({ error })) : null;
    render();
    if (first) await resumeJob();
  }

  function render() {
    clear(root);
    const accepted = plans.find((p) => p.status === "accepted");
    root.append(h("div", { class: `accepted-banner ${accepted ? "" : "none"}`, id: "accepted-banner", role: "status" },
      accepted ? `Accepted: version ${accepted.version} (${accepted.task_count} tasks) — agents work this one.` : "No version accepted yet."));
    root.append(h("div", { id: "job-slot" }));
    if (job) renderJob();
    if (!plans.length) {
      const errors = h("div", { class: "errors" });
      const button = h("button", { class: "primary", text: "Ask the AI to propose a plan", onclick: () => act(button, errors, proposeFirst) });
      root.append(h("div", { class: "panel" }, h("p", { text: "This project has no plan yet." }), button, errors));
      return;
    }
    const grid = h("div", { class: "plan-grid" }, timeline(), h("section", { "aria-label": "Version" }, params.cmp ? compareView() : versionView()));
    root.append(grid);
  }

  async function proposeFirst() {
    const response = await post(`projects/${pid}/plans`);
    if (response.status === 202) startJob(response.data);
    else go({ v: response.data.version });
  }

  function timeline() {
    const list = h("ol", { class: "timeline", "aria-label": "Versions" });
    for (const p of plans) {
      const feedback = p.feedback || {};
      list.append(h("li", { class: `${p.status} ${plan && plan.version === p.version ? "selected" : ""}`, "data-version": p.version },
        h("div", { class: "row" },
          h("button", { class: "link version", text: `Version ${p.version}`, "aria-current": plan && plan.version === p.version ? "true" : null, onclick: () => go({ v: p.version }) }),
          badge(p.status), p.status === "accepted" ? h("span", { text: "★", "aria-label": "accepted" }) : null),
        h("div", { class: "meta", text: `${p.task_count} tasks · by ${p.created_by}${p.based_on_version ? ` · from v${p.based_on_version}` : ""}` }),
        feedback.text ? h("div", { class: "small" }, h("em", { text: `“${feedback.text}”` })) : null,
        feedback.edits && feedback.edits.length ? h("div", { class: "meta", text: `${feedback.edits.length} structured edit(s)` }) : null,
        h("div", { class: "meta small provenance", text: provenanceText(p) }),
        p.decision_reason ? h("div", { class: "meta small", text: p.decision_reason }) : null,
        h("div", { class: "meta small", text: fmtTime(p.created_at) })));
    }
    return h("nav", { class: "panel", "aria-label": "Plan versions" }, h("h2", { text: "Versions" }), list);
  }

  function versionView() {
    const wrap = h("div", {});
    if (!plan || plan.error) {
      wrap.append(plan && plan.error ? problemBox(plan.error) : h("p", { text: "Pick a version." }));
      return wrap;
    }
    const errors = h("div", { class: "errors" });
    const actions = h("div", { class: "row" });
    if (plan.status === "proposed") {
      const accept = h("button", { class: "primary", text: `Accept version ${plan.version}`, onclick: () => confirmDialog(
        `Accept version ${plan.version}?`,
        `Version ${plan.version} (${plan.task_count} tasks) becomes the active plan that agents work on. Other open proposals are superseded.`,
        { confirmLabel: "Accept", onConfirm: () => post(`projects/${pid}/plans/${plan.version}/accept`) }).then((r) => r && loadAll(false)) });
      const reject = h("button", { class: "danger", text: "Reject…", onclick: () => {
        const reason = h("textarea", { name: "reason", class: "prose", required: true, maxlength: 4000 });
        openDialog({ title: `Reject version ${plan.version}?`, body: field("Why (the AI reads this)", reason), submitLabel: "Reject", danger: true,
          onSubmit: (data) => post(`projects/${pid}/plans/${plan.version}/reject`, { reason: data.get("reason") }) }).then((r) => r && loadAll(false));
      } });
      actions.append(accept, reject);
    }
    const others = plans.filter((p) => p.version !== plan.version);
    if (others.length) {
      const cmp = h("select", { id: "compare-with", "aria-label": "Compare with version" },
        others.map((p) => h("option", { value: p.version, text: `version ${p.version} (${p.status})` })));
      actions.append(h("label", { for: "compare-with", class: "inline", text: "Compare with" }), cmp,
        h("button", { text: "Compare", onclick: () => go({ v: Math.max(plan.version, Number(cmp.value)), cmp: Math.min(plan.version, Number(cmp.value)) }) }));
    }
    wrap.append(h("div", { class: "panel" },
      h("div", { class: "row" }, h("h2", { text: `Version ${plan.version}` }), badge(plan.status),
        h("span", { class: "meta", text: `${plan.task_count} tasks · by ${plan.created_by}` })),
      plan.summary ? h("p", { text: plan.summary }) : null,
      h("p", { class: "meta small", text: provenanceText(plan) }),
      actions, errors));
    const filter = h("input", { type: "search", placeholder: "Filter tasks by code or title", "aria-label": "Filter tasks" });
    const mergeBar = h("div", { class: "row", id: "merge-bar" });
    const list = h("div", { id: "plan-tasks", "data-version": plan.version });
    filter.addEventListener("input", debounce(() => {
      const q = filter.value.trim().toLowerCase();
      for (const row of $$(".task-row", list)) row.hidden = q && !row.dataset.search.includes(q);
    }, 120));
    wrap.append(feedbackPanel());
    wrap.append(h("div", { class: "row" }, h("div", { class: "grow" }, filter),
      h("button", { text: "Add a task…", onclick: () => addTask() })), mergeBar, list);
    renderTasks(list);
    renderMergeBar(mergeBar);
    return wrap;
  }

  function renderTasks(list) {
    const t0 = performance.now();
    const staged = new Set(edits.flatMap((e) => [e.code, ...(e.codes || [])]).filter(Boolean));
    const frag = document.createDocumentFragment();
    for (const group of milestoneGroups(plan)) {
      const m = group.milestone;
      const points = group.tasks.reduce((s, t) => s + ((t.estimates && t.estimates.story_points) || 0), 0);
      const section = h("section", { class: "milestone", "data-milestone": m.key || "" },
        h("h3", {}, m.title || m.key, h("span", { class: "meta", text: ` · ${group.tasks.length} tasks · ${points} pt` })),
        m.goal ? h("p", { class: "meta", text: m.goal }) : null);
      for (const task of group.tasks) section.append(taskRow(task, staged.has(task.code)));
      frag.append(section);
    }
    list.append(frag);
    performance.mark("gateway:plan-rendered");
    list.dataset.renderMs = String(Math.round(performance.now() - t0));
    requestAnimationFrame(() => setTimeout(() => {
      performance.mark("gateway:plan-interactive");
      list.dataset.ready = "true";
    }, 0));
  }

  function taskRow(task, isStaged) {
    const deps = task.dependencies || [];
    const row = h("details", { class: `task-row ${isStaged ? "staged" : ""}`, "data-code": task.code, "data-search": `${task.code} ${task.title}`.toLowerCase() },
      h("summary", {},
        h("span", { class: "mono", text: task.code }),
        h("span", { class: "t", text: task.title }),
        h("span", { class: "meta", text: [task.discipline, `P${task.priority}`, estimateText(task.estimates), deps.length ? `after ${deps.join(", ")}` : null].filter(Boolean).join(" · ") }),
        plan.status !== "proposed" && task.status && task.status !== "pending" ? badge(task.status) : null));
    // The body is built when the row opens: a 500-task plan keeps a small DOM.
    row.addEventListener("toggle", () => {
      if (row.open && !row.querySelector(".body")) row.append(taskBody(task));
    });
    return row;
  }

  function taskBody(task) {
    const tools = task.mcp_tools || [];
    return h("div", { class: "body stack" },
      task.description ? h("p", { text: task.description }) : null,
      (task.acceptance_criteria || []).length ? h("div", {}, h("strong", { text: "Acceptance criteria" }), h("ul", {}, task.acceptance_criteria.map((c) => h("li", { text: c })))) : null,
      (task.deliverables || []).length ? h("div", {}, h("strong", { text: "Deliverables" }), h("ul", {}, task.deliverables.map((d) => h("li", { text: deliverableText(d) })))) : null,
      h("div", { class: "meta" }, `Depends on: ${(task.dependencies || []).join(", ") || "nothing"} · Suggested MCP tools: ${tools.map(toolText).join(", ") || "none"}`),
      h("div", { class: "row" },
        h("button", { text: "Edit…", onclick: () => editTask(task) }),
        h("button", { text: "Split…", onclick: () => splitTask(task) }),
        h("button", { text: "Move…", onclick: () => moveTask(task) }),
        h("label", { class: "inline" }, h("input", { type: "checkbox", checked: merging.has(task.code), onchange: (e) => {
          if (e.target.checked) merging.add(task.code); else merging.delete(task.code);
          renderMergeBar($("#merge-bar", root));
        } }), "Select to merge"),
        h("button", { class: "danger", text: "Remove", onclick: () => stage({ op: "remove", code: task.code }) })));
  }

  function renderMergeBar(bar) {
    if (!bar) return;
    clear(bar);
    if (merging.size < 2) {
      if (merging.size === 1) bar.append(h("span", { class: "meta", text: `${[...merging][0]} selected to merge: select one more.` }));
      return;
    }
    const codes = plan.tasks.map((t) => t.code).filter((c) => merging.has(c));
    bar.append(h("span", { text: `Merge ${codes.join(" + ")}` }), h("button", { text: "Merge…", onclick: () => {
      const title = h("input", { name: "title", value: plan.tasks.find((t) => t.code === codes[0]).title });
      openDialog({ title: `Merge ${codes.join(", ")}`, body: field("Title of the merged task", title), submitLabel: "Stage merge",
        onSubmit: (data) => { merging.clear(); stage({ op: "merge", codes, into: { title: data.get("title") } }); } });
    } }));
  }

  function stage(edit) {
    edits.push(edit);
    render();
    const panel = $("#feedback", root);
    if (panel) panel.scrollIntoView({ block: "nearest" });
  }

  function editTask(task) {
    const f = taskDialogFields(task, plan.milestones);
    openDialog({ title: `Edit ${task.code}`, body: taskDialogBody(f), submitLabel: "Stage edit", onSubmit: (data) => {
      const changes = changedFields(task, readTaskDialog(data));
      if (Object.keys(changes).length) stage({ op: "edit", code: task.code, changes });
    } });
  }

  function addTask() {
    const f = taskDialogFields(null, plan.milestones);
    const after = h("select", { name: "after" }, h("option", { value: "", text: "(at the end)" }),
      plan.tasks.map((t) => h("option", { value: t.code, text: `${t.code} ${t.title}` })));
    openDialog({ title: "Add a task", body: h("div", {}, taskDialogBody(f), field("Place it after", after)), submitLabel: "Stage addition",
      onSubmit: (data) => {
        const task = readTaskDialog(data);
        const last = plan.tasks.length ? plan.tasks[plan.tasks.length - 1].code : null;
        stage({ op: "add", task, after: data.get("after") || last });
      } });
  }

  function splitTask(task) {
    const parts = h("textarea", { name: "parts", class: "prose", required: true, value: `${task.title} (part 1)\n${task.title} (part 2)` });
    openDialog({ title: `Split ${task.code}`, body: field("One part per line (at least two)", parts), submitLabel: "Stage split", onSubmit: (data) => {
      const titles = String(data.get("parts")).split("\n").map((s) => s.trim()).filter(Boolean);
      if (titles.length < 2) throw new ApiError(0, { title: "Two parts at least", detail: "Write one title per line." });
      const est = task.estimates || {};
      const into = titles.map((title, i) => ({
        title,
        description: task.description || title,
        discipline: task.discipline || "programming",
        acceptance_criteria: task.acceptance_criteria && task.acceptance_criteria.length ? task.acceptance_criteria : [title],
        estimates: { story_points: Math.max(1, Math.round((est.story_points || titles.length) / titles.length)), time_hours: Math.round(((est.time_hours || titles.length) / titles.length) * 2) / 2 || 0.5 },
        priority: task.priority || 3,
        deliverables: i === titles.length - 1 ? task.deliverables || [] : [],
        mcp_tools: (task.mcp_tools || []).map(toolText),
        ...(task.milestone ? { milestone: task.milestone } : {}),
      }));
      stage({ op: "split", code: task.code, into });
    } });
  }

  function moveTask(task) {
    const after = h("select", { name: "after" }, h("option", { value: "", text: "(to the top)" }),
      plan.tasks.filter((t) => t.code !== task.code).map((t) => h("option", { value: t.code, text: `${t.code} ${t.title}` })));
    openDialog({ title: `Move ${task.code}`, body: field("Place it after", after), submitLabel: "Stage move",
      onSubmit: (data) => stage({ op: "move", code: task.code, after: data.get("after") || null }) });
  }

  function feedbackPanel() {
    const text = h("textarea", { id: "feedback-text", class: "prose", maxlength: 20000, placeholder: "e.g. Add a boss fight at the end, drop the leaderboard, split the player controller…" });
    if (feedbackDraft) text.value = feedbackDraft;
    text.addEventListener("input", () => { feedbackDraft = text.value; });
    const errors = h("div", { class: "errors" });
    const revise = h("button", { class: "primary", text: "Ask the AI for a revision" });
    const own = h("button", { text: "Save my edits as a new version", disabled: !edits.length });
    revise.addEventListener("click", () => act(revise, errors, async () => {
      if (!text.value.trim() && !edits.length) throw new ApiError(0, { title: "Nothing to revise", detail: "Write feedback or stage an edit first." });
      const response = await post(`projects/${pid}/plans/${plan.version}/revisions`, { text: text.value.trim() || null, edits });
      done(response);
    }));
    own.addEventListener("click", () => act(own, errors, async () => {
      const response = await post(`projects/${pid}/plans/${plan.version}/edits`, { edits, note: text.value.trim() || null });
      done(response);
    }));
    function done(response) {
      edits = [];
      feedbackDraft = "";
      if (response.status === 202) { startJob(response.data); render(); } else go({ v: response.data.version });
    }
    return h("section", { class: "panel", id: "feedback", "aria-label": "Feedback" },
      h("h2", { text: `Feedback on version ${plan.version}` }),
      edits.length ? h("ol", { class: "edits", "aria-label": "Staged edits" }, edits.map((e, i) => h("li", {}, describeEdit(e), " ",
        h("button", { class: "link", text: "undo", "aria-label": `Undo: ${describeEdit(e)}`, onclick: () => { edits.splice(i, 1); render(); } })))) : h("p", { class: "meta", text: "Structured edits you make on the tasks below (open a task: Edit, Split, Move, Remove, merge) collect here." }),
      field("What should change (free text)", text), h("div", { class: "row" }, revise, own), errors);
  }

  // Planning jobs (202 + Location): shown live from job.* events, with polling as a safety net.
  function startJob(j) {
    job = j;
    sessionStorage.setItem(`gateway:job:${shell.projectId}`, JSON.stringify(j));
    renderJob();
    pollJob();
  }

  async function resumeJob() {
    const stored = sessionStorage.getItem(`gateway:job:${shell.projectId}`);
    if (stored) { startJob(JSON.parse(stored)); return; }
    try {
      const page = await get(`projects/${pid}/jobs`);
      const running = (page.items || page || []).find((j) => j.status === "queued" || j.status === "running");
      if (running) startJob(running);
    } catch { /* no jobs route: the template planner answers synchronously */ }
  }

  function pollJob() {
    clearTimeout(jobTimer);
    if (!job || ["done", "failed", "cancelled"].includes(job.status)) return;
    jobTimer = setTimeout(async () => {
      try { updateJob(await get(`jobs/${job.id}`)); } catch { /* the next event or poll will tell */ }
      pollJob();
    }, 1500);
  }

  function updateJob(j) {
    const wasDone = job && job.status === "done";
    job = { ...job, ...j };
    renderJob();
    if (["done", "failed", "cancelled"].includes(job.status)) {
      sessionStorage.removeItem(`gateway:job:${shell.projectId}`);
      if (job.status === "done" && !wasDone && job.plan_version) go({ v: job.plan_version });
    }
  }

  function renderJob() {
    const slot = $("#job-slot", root);
    if (!slot || !job) return;
    const errors = h("div", { class: "errors" });
    const cancel = h("button", { text: "Cancel the job", onclick: () => act(cancel, errors, async () => updateJob((await post(`jobs/${job.id}/cancel`)).data)) });
    const live = !["done", "failed", "cancelled"].includes(job.status);
    fill(slot, h("div", { class: `job ${job.status}`, id: "job", role: "status", "aria-live": "polite" },
      h("div", { class: "row" }, h("strong", { text: `AI planning job #${job.id} (${job.kind || "plan"})` }), badge(job.status),
        job.max_attempts ? h("span", { class: "meta", text: `attempt ${job.attempt || 0} of ${job.max_attempts}` }) : null,
        live ? cancel : h("button", { class: "link", text: "dismiss", onclick: () => { job = null; clear(slot); } })),
      job.progress ? h("div", { class: "meta", id: "job-progress", text: describeJobPart(job.progress) }) : null,
      job.error ? h("div", { class: "problem", role: "alert", text: describeJobPart(job.error) }) : null,
      errors));
  }

  return {
    title: "Plan",
    async mount(el) {
      root = el;
      root.append("Loading…");
      await loadAll(true);
    },
    onEvent(ev) {
      if (ev.type.startsWith("job.")) {
        const d = ev.data || {};
        if (job && d.job_id === job.id) {
          const kind = ev.type.slice(4);
          const status = d.status || (kind === "progress" ? job.status : kind);
          updateJob({ status, attempt: d.attempt ?? job.attempt, plan_version: d.plan_version ?? job.plan_version, error: d.error ?? job.error,
            progress: kind === "progress" ? { step: d.step, message: d.message } : job.progress });
        } else if (!job && ev.type === "job.queued") {
          startJob({ id: d.job_id, status: "queued", kind: d.kind });
        }
      }
      if (ev.type.startsWith("plan.")) reloadSoon();
    },
    destroy() { clearTimeout(jobTimer); },
  };

  // Plan diff, side by side: rows aligned by task code, changed fields highlighted one by one.
  function compareView() {
    const wrap = h("div", { class: "panel" });
    const from = Number(params.cmp);
    const to = Number(params.v);
    const pick = (name, value) => h("select", { name, "aria-label": name === "from" ? "Older version" : "Newer version" },
      plans.map((p) => h("option", { value: p.version, text: `version ${p.version} (${p.status})`, selected: p.version === value })));
    const a = pick("from", from);
    const b = pick("to", to);
    const onlyChanges = h("input", { type: "checkbox", checked: true, id: "only-changes" });
    wrap.append(h("div", { class: "row" }, h("h2", { text: "Compare versions" }), a, h("span", { text: "→" }), b,
      h("button", { text: "Compare", onclick: () => go({ v: b.value, cmp: a.value }) }),
      h("label", { class: "inline", for: "only-changes" }, onlyChanges, "Only changes"),
      h("button", { class: "link", text: `Back to version ${to}`, onclick: () => go({ v: to }) })));
    const body = h("div", { id: "plan-diff" }, "Loading…");
    wrap.append(body);
    Promise.all([get(`projects/${pid}/plans/diff?from=${from}&to=${to}`), get(`projects/${pid}/plans/${from}`), get(`projects/${pid}/plans/${to}`)])
      .then(([diff, oldPlan, newPlan]) => {
        const table = diffTable(diff, oldPlan, newPlan);
        const ms = diff.milestones;
        const msText = ms ? [ms.added.length ? `milestones added: ${ms.added.map((m) => m.title || m.key).join(", ")}` : null,
          ms.removed.length ? `milestones removed: ${ms.removed.map((m) => m.title || m.key).join(", ")}` : null,
          ms.changed.length ? `milestones changed: ${ms.changed.map((m) => `${m.title || m.key} (${Object.keys(m.fields || {}).join(", ")})`).join("; ")}` : null,
          ms.reordered ? "milestones reordered" : null].filter(Boolean).join(" · ") : "";
        fill(body, h("p", { class: "meta", id: "diff-summary", text: `${diff.added.length} added · ${diff.removed.length} removed · ${diff.changed.length} changed · ${diff.moved.length} moved` }),
          msText ? h("p", { class: "meta", id: "diff-milestones", text: msText }) : null, table);
        const apply = () => { for (const row of $$("tr.same", table)) row.hidden = onlyChanges.checked; };
        onlyChanges.addEventListener("change", apply);
        apply();
        performance.mark("gateway:diff-rendered");
      })
      .catch((error) => showError(body, error));
    return wrap;
  }
}

let feedbackDraft = "";

// A job's progress or error: an object from the API ({step, message} / a problem), or text.
function describeJobPart(part) {
  if (typeof part === "string") return part;
  return [part.step, part.title, part.message, part.detail].filter(Boolean).join(": ") || JSON.stringify(part);
}

function fmtValue(v) {
  if (v === null || v === undefined) return "—";
  if (Array.isArray(v)) return v.map((x) => (typeof x === "object" ? deliverableText(x) : x)).join(", ") || "—";
  if (typeof v === "object") return estimateText(v) || JSON.stringify(v);
  return String(v);
}

function diffTable(diff, oldPlan, newPlan) {
  const oldBy = new Map(oldPlan.tasks.map((t) => [t.code, t]));
  const newBy = new Map(newPlan.tasks.map((t) => [t.code, t]));
  const changed = new Map(diff.changed.map((c) => [c.code, c.fields]));
  const moved = new Map(diff.moved.map((m) => [m.code, m]));
  const added = new Set(diff.added.map((a) => a.code));
  const removed = new Set(diff.removed.map((r) => r.code));
  // New order, with each removed task placed after the task that preceded it in the old version.
  const order = newPlan.tasks.map((t) => t.code);
  oldPlan.tasks.forEach((t, i) => {
    if (!removed.has(t.code)) return;
    const prev = i > 0 ? oldPlan.tasks[i - 1].code : null;
    const at = prev ? order.indexOf(prev) : -1;
    order.splice(at + 1, 0, t.code);
  });
  const cell = (task, side, fields) => {
    if (!task) return h("td", { class: side }, h("span", { class: "meta", text: side === "old" ? "(not in this version)" : "(removed)" }));
    return h("td", { class: side },
      h("div", {}, h("span", { class: "mono", text: `${task.code} ` }), h("strong", { text: task.title })),
      fields ? Object.entries(fields).map(([name, change]) => h("span", { class: "field", "data-field": name },
        h("span", { class: "meta", text: `${name}: ` }), h("mark", { class: side, text: fmtValue(change[side]) }))) : null);
  };
  const rows = order.map((code) => {
    const kind = added.has(code) ? "added" : removed.has(code) ? "removed" : changed.has(code) ? "changed" : moved.has(code) ? "moved" : "same";
    const m = moved.get(code);
    const tag = kind === "same" ? null : h("span", { class: "tag", text: kind === "moved" ? `moved #${m.from_idx + 1} → #${m.to_idx + 1}` : kind });
    const fields = changed.get(code);
    const left = cell(oldBy.get(code), "old", fields);
    const right = cell(newBy.get(code), "new", fields);
    if (tag) right.prepend(tag);
    if (kind === "changed" && m) right.prepend(h("span", { class: "tag", text: `moved #${m.from_idx + 1} → #${m.to_idx + 1}` }));
    return h("tr", { class: kind, "data-code": code }, left, right);
  });
  return h("table", { class: "diff" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: `Version ${diff.from_version}` }), h("th", { scope: "col", text: `Version ${diff.to_version}` }))),
    h("tbody", {}, rows));
}

// ---------------------------------------------------------------------------------------------------------
// Board

const COLUMNS = [
  ["pending", "To do"], ["claimed", "Claimed"], ["in_progress", "In progress"], ["blocked", "Blocked"],
  ["review", "Review"], ["done", "Done"], ["cancelled", "Cancelled"],
];

function columnOf(task) {
  if (task.status === "pending" && task.claimed_by) return "claimed";
  return task.status;
}

function claimText(task, now) {
  if (!task.claimed_by) return null;
  if (task.status === "in_progress" && task.started_at) return `${task.claimed_by} · working ${fmtDuration(now - new Date(task.started_at))}`;
  if (task.lease_expires_at) return `${task.claimed_by} · lease ends in ${fmtDuration(new Date(task.lease_expires_at) - now)}`;
  return task.claimed_by;
}

function BoardScreen(shell, params) {
  const pid = shell.pid;
  let root = null;
  let tasks = new Map();
  let cards = new Map();
  let plan = null;
  let clock = null;
  let drawer = null;
  const statusOf = () => new Map(Array.from(tasks.values()).map((t) => [t.code, t.status]));

  async function load() {
    try {
      plan = await get(`projects/${pid}/plans/active`);
    } catch (error) {
      clear(root);
      if (error.status === 404) {
        root.append(h("div", { class: "panel" }, h("p", { text: "No plan is accepted yet: the board shows the accepted plan's tasks." }),
          h("a", { class: "button", href: `#/projects/${pid}/plan`, text: "Go to the plan" })));
      } else root.append(problemBox(error));
      return;
    }
    tasks = new Map(plan.tasks.map((t) => [t.id, t]));
    render();
  }

  function header() {
    const all = Array.from(tasks.values());
    const done = all.filter((t) => t.status === "done").length;
    const total = all.filter((t) => t.status !== "cancelled").length;
    const current = all.find((t) => t.id === shell.project.current_task_id);
    return h("div", { class: "panel", id: "board-header" },
      h("div", { class: "row" }, h("strong", { text: `Version ${plan.version}` }), progressBar(done, total),
        h("span", { class: "grow" }),
        current ? h("span", {}, "Current task: ", h("button", { class: "link", text: `${current.code} ${current.title}`, onclick: () => openTask(current.id) })) : h("span", { class: "meta", text: "No current task" })));
  }

  function render() {
    const now = Date.now();
    const status = statusOf();
    clear(root);
    const filter = h("input", { type: "search", placeholder: "Filter by code, title or agent", "aria-label": "Filter tasks" });
    const milestones = plan.milestones || [];
    const milestone = milestones.length ? h("select", { "aria-label": "Milestone", id: "board-milestone" }, h("option", { value: "", text: "All milestones" }),
      milestones.map((m) => h("option", { value: m.key, text: m.title || m.key }))) : null;
    root.append(header(), h("div", { class: "row" }, h("div", { class: "grow" }, filter), milestone));
    const board = h("div", { class: "board", id: "board" });
    cards = new Map();
    const byColumn = new Map(COLUMNS.map(([key]) => [key, []]));
    for (const task of tasks.values()) (byColumn.get(columnOf(task)) || byColumn.get("pending")).push(task);
    for (const [key, label] of COLUMNS) {
      const list = byColumn.get(key).sort((a, b) => a.idx - b.idx);
      const col = h("section", { class: "column", "data-status": key, "aria-label": label },
        h("h2", {}, h("span", { text: label }), h("span", { class: "count", text: String(list.length) })));
      for (const task of list) {
        const card = taskCard(task, now, status);
        cards.set(task.id, card);
        col.append(card);
      }
      board.append(col);
    }
    root.append(board);
    const apply = () => {
      const q = filter.value.trim().toLowerCase();
      const m = milestone ? milestone.value : "";
      for (const card of cards.values()) card.hidden = Boolean((q && !card.dataset.search.includes(q)) || (m && card.dataset.milestone !== m));
    };
    filter.addEventListener("input", debounce(apply, 120));
    if (milestone) milestone.addEventListener("change", apply);
    performance.mark("gateway:board-rendered");
    requestAnimationFrame(() => setTimeout(() => {
      performance.mark("gateway:board-interactive");
      board.dataset.ready = "true";
    }, 0));
  }

  function taskCard(task, now, status) {
    const waiting = task.status === "pending" ? (task.dependencies || []).filter((c) => !["done", "cancelled"].includes(status.get(c))) : [];
    const current = task.id === shell.project.current_task_id;
    return h("button", { class: `tcard ${current ? "current" : ""}`, "data-task": task.id, "data-code": task.code, "data-status": task.status, "data-milestone": task.milestone || "",
      "data-search": `${task.code} ${task.title} ${task.claimed_by || ""}`.toLowerCase(), onclick: () => openTask(task.id) },
      h("div", { class: "row" }, h("span", { class: "code", text: task.code }), current ? badge("current", "in_progress") : null,
        h("span", { class: "meta", text: estimateText(task.estimates) })),
      h("div", { text: task.title }),
      task.claimed_by ? h("div", { class: "claim", text: claimText(task, now) }) : null,
      task.blocked_reason && task.status === "blocked" ? h("div", { class: "reason", text: `Blocked: ${task.blocked_reason}` }) : null,
      waiting.length ? h("div", { class: "meta small", text: `waiting on ${waiting.slice(0, 4).join(", ")}${waiting.length > 4 ? "…" : ""}` }) : null);
  }

  // One task changed: replace its card (in its new column), keep the rest of the board and the focus.
  function patch(task) {
    const old = tasks.get(task.id);
    tasks.set(task.id, task);
    const card = cards.get(task.id);
    const focused = card && document.activeElement === card;
    const next = taskCard(task, Date.now(), statusOf());
    cards.set(task.id, next);
    const col = $(`.column[data-status="${columnOf(task)}"]`, root);
    if (!card || !col) { render(); return; }
    card.remove();
    const after = Array.from(col.querySelectorAll(".tcard")).find((c) => (tasks.get(Number(c.dataset.task)) || {}).idx > task.idx);
    col.insertBefore(next, after || null);
    if (focused) next.focus();
    for (const c of $$(".column", root)) $(".count", c).textContent = String(c.querySelectorAll(".tcard").length);
    if (old && old.status !== task.status) {
      // Dependents may have become ready (or not): refresh their "waiting on" line.
      for (const other of tasks.values()) {
        if ((other.dependencies || []).includes(task.code) && other.status === "pending") {
          const c = cards.get(other.id);
          const fresh = taskCard(other, Date.now(), statusOf());
          if (c) { c.replaceWith(fresh); cards.set(other.id, fresh); }
        }
      }
      const hd = $("#board-header", root);
      if (hd) hd.replaceWith(header());
    }
    if (drawer && drawer.taskId === task.id) drawer.refresh();
  }

  async function openTask(taskId) {
    if (drawer) drawer.close();
    drawer = TaskDrawer(shell, taskId, () => { drawer = null; const c = cards.get(taskId); if (c) c.focus(); });
  }

  return {
    title: "Board",
    async mount(el) {
      root = el;
      root.append("Loading…");
      await load();
      clock = setInterval(() => {
        const now = Date.now();
        for (const [id, card] of cards) {
          const t = tasks.get(id);
          const claim = t && t.claimed_by ? $(".claim", card) : null;
          if (claim) claim.textContent = claimText(t, now);
        }
      }, 15000);
      if (params.task) openTask(Number(params.task));
    },
    onEvent(ev) {
      const d = ev.data || {};
      if (ev.type === "plan.accepted") { load(); return; }
      if (ev.type === "task.current_changed") {
        const hd = $("#board-header", root);
        if (hd && plan) {
          hd.replaceWith(header());
          for (const t of tasks.values()) patchQuiet(t);
        }
        return;
      }
      if (ev.type.startsWith("task.") && d.task_id && tasks.has(d.task_id)) {
        get(`projects/${pid}/tasks/${d.task_id}`).then(patch).catch(() => null);
      }
      if ((ev.type.startsWith("artifact.") || ev.type === "context.updated") && drawer) drawer.refresh();
    },
    destroy() { clearInterval(clock); if (drawer) drawer.close(); },
  };

  function patchQuiet(task) {
    const card = cards.get(task.id);
    if (!card) return;
    const isCurrent = task.id === shell.project.current_task_id;
    if (card.classList.contains("current") !== isCurrent) patch(task);
  }
}

function TaskDrawer(shell, taskId, onClose) {
  const pid = shell.pid;
  const panel = h("aside", { class: "drawer", role: "dialog", "aria-modal": "false", "aria-label": "Task", tabindex: "-1" });
  const onKey = (e) => { if (e.key === "Escape") close(); };
  document.addEventListener("keydown", onKey);
  document.body.append(panel);
  panel.append("Loading…");
  panel.focus();

  function close() {
    document.removeEventListener("keydown", onKey);
    panel.remove();
    onClose();
  }

  async function refresh() {
    let task;
    let briefing = null;
    try {
      task = await get(`projects/${pid}/tasks/${taskId}`);
    } catch (error) {
      fill(panel, h("button", { text: "Close", onclick: close }), problemBox(error));
      return;
    }
    const [brief, artifacts, context, events] = await Promise.all([
      get(`projects/${pid}/tasks/${taskId}/briefing`).catch(() => null),
      get(`projects/${pid}/artifacts?task_id=${taskId}&limit=200`).catch(() => ({ items: [] })),
      get(`projects/${pid}/tasks/${taskId}/context`).catch(() => null),
      taskHistory(),
    ]);
    briefing = brief;
    const missing = new Set(((briefing && briefing.task && briefing.task.missing_deliverables) || []).map((d) => d.name));
    const valid = (artifacts.items || []).filter((a) => a.validation_status === "valid");
    const errors = h("div", { class: "errors" });
    const actions = h("div", { class: "row", id: "task-actions" });
    const transition = (verb, label, { reason = false, danger = false, confirm = null } = {}) => {
      const button = h("button", { class: danger ? "danger" : "", text: label });
      button.addEventListener("click", async () => {
        if (reason) {
          const input = h("textarea", { name: "reason", class: "prose", maxlength: 4000 });
          const done = await openDialog({ title: `${label} ${task.code}`, body: field(verb === "unblock" ? "Note (optional)" : "Reason", input), submitLabel: label, danger,
            onSubmit: (data) => post(`projects/${pid}/tasks/${taskId}/${verb}`, { reason: data.get("reason") || null }) });
          if (done) refresh();
        } else if (confirm) {
          const done = await confirmDialog(`${label} ${task.code}?`, confirm, { confirmLabel: label, onConfirm: () => post(`projects/${pid}/tasks/${taskId}/${verb}`, {}) });
          if (done) refresh();
        } else {
          await act(button, errors, async () => { await post(`projects/${pid}/tasks/${taskId}/${verb}`, {}); await refresh(); });
        }
      });
      return button;
    };
    if (task.status === "blocked") actions.append(transition("unblock", "Unblock", { reason: true }));
    if (task.status === "review") actions.append(transition("approve", "Approve", { confirm: "The task becomes done." }));
    if (["done", "review", "cancelled"].includes(task.status)) actions.append(transition("reopen", "Reopen", { reason: true }));
    if (!["done", "cancelled"].includes(task.status)) actions.append(transition("cancel", "Cancel task", { reason: true, danger: true }));
    const deps = (briefing && briefing.dependencies) || (task.dependencies || []).map((code) => ({ code }));
    const tools = (briefing && briefing.tools) || (task.mcp_tools || []).map((t) => ({ name: toolText(t) }));
    fill(panel, 
      h("header", {}, h("div", {}, h("div", { class: "mono meta", text: task.code }), h("h2", { text: task.title, id: "drawer-title" })),
        h("button", { text: "Close", "aria-label": "Close the task", onclick: close })),
      h("div", { class: "row" }, badge(task.status), task.id === shell.project.current_task_id ? badge("current", "in_progress") : null,
        h("span", { class: "meta", text: [task.milestone ? `milestone ${task.milestone}` : null, task.discipline, `P${task.priority}`, estimateText(task.estimates)].filter(Boolean).join(" · ") })),
      task.claimed_by ? h("p", { class: "claim", text: `Claimed by ${claimText(task, Date.now())}` }) : null,
      task.blocked_reason && task.status === "blocked" ? h("div", { class: "problem", text: `Blocked: ${task.blocked_reason}` }) : null,
      actions, errors,
      task.description ? h("p", { text: task.description }) : null,
      task.summary ? h("div", { class: "notice" }, h("strong", { text: "Summary: " }), task.summary) : null,
      h("h3", { text: "Acceptance criteria" }), h("ul", {}, (task.acceptance_criteria || []).map((c) => h("li", { text: c }))),
      h("h3", { text: "Deliverables" }),
      h("ul", { id: "deliverables" }, (task.deliverables || []).map((d) => {
        const name = typeof d === "string" ? d : d.name;
        const satisfied = !missing.has(name);
        const matching = valid.filter((a) => typeof d !== "string" && a.category === d.category);
        return h("li", {}, h("span", { text: `${satisfied ? "✔" : "✖"} ${deliverableText(d)}` }),
          satisfied && matching.length ? h("span", { class: "meta", text: ` — by ${matching.map((a) => a.path || a.name).join(", ")}` }) : h("span", { class: "meta", text: satisfied ? "" : " — missing" }));
      })),
      h("h3", { text: `Artifacts (${(artifacts.items || []).length})` }),
      h("div", { class: "cards" }, (artifacts.items || []).map((a) => artifactCard(shell, a))),
      h("h3", { text: "Depends on" }),
      h("ul", {}, deps.map((d) => h("li", {}, h("span", { class: "mono", text: d.code }), ` ${d.title || ""} `, d.status ? badge(d.status) : null))),
      h("h3", { text: "Suggested MCP tools" }),
      h("ul", {}, tools.map((t) => h("li", { text: `${t.title || t.name}${t.tools ? `: ${t.tools.map(toolText).join(", ")}` : ""}` }))),
      h("h3", { text: "Task context" }),
      context ? h("div", {}, h("p", { class: "meta", text: `version ${context.version} · ${context.source || ""} · by ${context.created_by}` }),
        h("pre", { text: JSON.stringify(context.content, null, 2) }),
        h("a", { href: `#/projects/${pid}/context?task=${taskId}`, text: "Open in the context editor" }))
        : h("p", { class: "meta", text: "No context yet: it is generated when the task starts." }),
      h("h3", { text: "History" }),
      h("ol", { class: "feed" }, events.map((ev) => h("li", {}, describeEvent(ev), h("time", { text: fmtTime(ev.created_at) })))));
  }

  async function taskHistory() {
    const head = (await get(`projects/${pid}/events?limit=1`).catch(() => ({ head: 0 }))).head || 0;
    const items = [];
    let after = Math.max(0, head - 1000);
    for (let i = 0; i < 5 && after !== null; i++) {
      const page = await get(`projects/${pid}/events?after=${after}&limit=200`).catch(() => null);
      if (!page) break;
      items.push(...page.items.filter((ev) => ev.data && ev.data.task_id === taskId));
      after = page.next_after;
    }
    return items.reverse();
  }

  refresh();
  return { taskId, refresh, close };
}

// ---------------------------------------------------------------------------------------------------------
// Context (global and per task): history, diff, edit based on a version (conflicts shown), restore

function ContextScreen(shell, params) {
  const pid = shell.pid;
  let root = null;
  let current = null;
  let dirty = false;
  const taskId = params.task ? Number(params.task) : null;
  const base = () => (taskId ? `projects/${pid}/tasks/${taskId}/context` : `projects/${pid}/context`);

  let generation = 0;

  // Built off-screen and swapped in at the end: a load that a newer one overtook shows nothing.
  async function load() {
    const mine = ++generation;
    const view = h("div", {});
    const picker = h("select", { id: "context-scope", "aria-label": "Which context" }, h("option", { value: "", text: "Global context" }));
    try {
      const plan = await get(`projects/${pid}/plans/active`);
      for (const t of plan.tasks) picker.append(h("option", { value: t.id, text: `Task ${t.code}: ${t.title}`, selected: t.id === taskId }));
    } catch { /* no accepted plan: only the global context */ }
    picker.addEventListener("change", () => { location.hash = `#/projects/${pid}/context${picker.value ? `?task=${picker.value}` : ""}`; });
    view.append(h("div", { class: "row" }, h("label", { for: "context-scope", text: "Context" }), picker));
    const editor = h("section", { class: "panel", id: "context-editor" });
    const history = h("section", { class: "panel", id: "context-history" });
    view.append(editor, history);
    let latest = null;
    try {
      latest = await get(base());
    } catch (error) {
      if (error.status !== 404) {
        editor.append(problemBox(error));
        if (mine === generation) fill(root, view);
        return;
      }
    }
    if (mine !== generation) return;
    current = latest;
    renderEditor(editor);
    await renderHistory(history).catch((error) => history.append(problemBox(error)));
    if (mine === generation) fill(root, view);
  }

  function renderEditor(editor, keepText) {
    const text = h("textarea", { id: "context-text", rows: 18, spellcheck: "false", "aria-label": "Context (JSON)" });
    text.value = keepText !== undefined ? keepText : current ? JSON.stringify(current.content, null, 2) : "{\n}";
    dirty = keepText !== undefined;
    text.addEventListener("input", () => { dirty = true; });
    const errors = h("div", { class: "errors", id: "context-errors" });
    const save = h("button", { class: "primary", text: current ? `Save as version ${current.version + 1}` : "Create" });
    const basedOn = current ? current.version : null;
    save.addEventListener("click", () => act(save, errors, async () => {
      let content;
      try { content = JSON.parse(text.value); } catch (e) { throw new ApiError(0, { title: "Not valid JSON", detail: e.message }); }
      try {
        await api("PUT", base(), { json: content, headers: basedOn ? { "If-Match": `"${basedOn}"` } : {} });
      } catch (error) {
        if (error.status === 412 || error.status === 409 || error.status === 428) {
          await showConflict(editor, errors, error, basedOn, text.value);
          return;
        }
        throw error;
      }
      dirty = false;
      await load();
    }));
    fill(editor, 
      h("div", { class: "row" }, h("h2", { text: taskId ? "Task context" : "Global context" }),
        current ? h("span", { class: "meta", id: "context-version", text: `version ${current.version} · ${current.source || ""} · by ${current.created_by} · ${fmtTime(current.created_at)}` })
          : h("span", { class: "meta", text: "No version yet" })),
      current && current.summary ? h("p", { class: "meta", text: current.summary }) : null,
      h("div", { id: "context-notice" }),
      text, errors, h("div", { class: "row" }, save, h("span", { class: "meta", text: basedOn ? `Your edit is based on version ${basedOn}.` : "" })));
  }

  async function showConflict(editor, errors, error, basedOn, mine) {
    const latest = await get(base());
    const diff = await get(`${base()}/diff?from=${basedOn}&to=${latest.version}`).catch(() => null);
    errors.append(problemBox(error), h("div", { class: "panel", id: "context-conflict" },
      h("strong", { text: `Version ${latest.version} was saved by ${latest.created_by} while you edited version ${basedOn}. Your text is kept below; nothing was overwritten.` }),
      h("p", { text: "Their change:" }),
      diff ? changesList(diff.changes) : h("pre", { text: JSON.stringify(latest.content, null, 2) }),
      h("div", { class: "row" },
        h("button", { text: `Discard mine and load version ${latest.version}`, onclick: () => { current = latest; renderEditor(editor); } }),
        h("button", { text: `Edit mine on top of version ${latest.version}`, onclick: () => { current = latest; renderEditor(editor, mine); } }))));
  }

  async function renderHistory(history) {
    fill(history, h("h2", { text: "History" }));
    if (!current) { history.append(h("p", { class: "meta", text: "No version yet." })); return; }
    const page = await get(`${base()}/versions?limit=100`);
    const from = h("select", { "aria-label": "From version" }, page.items.map((v) => h("option", { value: v.version, text: `v${v.version}`, selected: v.version === Math.max(1, current.version - 1) })));
    const to = h("select", { "aria-label": "To version" }, page.items.map((v) => h("option", { value: v.version, text: `v${v.version}`, selected: v.version === current.version })));
    const out = h("div", { id: "context-diff" });
    const showDiff = h("button", { text: "Show diff", onclick: async () => {
      await act(showDiff, out, async () => fill(out, changesList((await get(`${base()}/diff?from=${from.value}&to=${to.value}`)).changes)));
    } });
    history.append(h("div", { class: "row" }, "Diff", from, "→", to, showDiff), out);
    const errors = h("div", { class: "errors" });
    history.append(errors, h("table", {}, h("thead", {}, h("tr", {}, ["Version", "Source", "By", "Summary", "When", ""].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, page.items.map((v) => h("tr", { "data-version": v.version },
        h("td", { text: `v${v.version}${v.is_active ? " (active)" : ""}` }), h("td", { text: v.source || "" }), h("td", { text: v.created_by }),
        h("td", { text: v.summary || "" }), h("td", { class: "small", text: fmtTime(v.created_at) }),
        h("td", {}, v.is_active ? null : h("button", { text: "Restore", "aria-label": `Restore version ${v.version}`, onclick: (e) => act(e.target, errors, async () => {
          const ok = await confirmDialog(`Restore version ${v.version}?`, `A new version is written with the content of version ${v.version}; nothing is lost.`,
            { confirmLabel: "Restore", onConfirm: () => api("POST", `${base()}/versions/${v.version}/restore`, { json: {}, headers: { "If-Match": `"${current.version}"` } }) });
          if (ok) await load();
        }) })))))));
  }

  return {
    title: "Context",
    async mount(el) { root = el; await load(); },
    onEvent(ev) {
      if (ev.type !== "context.updated") return;
      const d = ev.data || {};
      const mine = taskId ? d.task_id === taskId : d.scope !== "task";
      if (!mine) return;
      if (dirty) {
        const notice = $("#context-notice", root);
        if (notice) fill(notice, h("div", { class: "notice", role: "status", text: `Version ${d.version} was just saved by ${ev.actor}. Saving your edit will show the conflict.` }));
      } else load();
    },
  };
}

function changesList(changes) {
  if (!changes.length) return h("p", { class: "meta", text: "No difference." });
  return h("table", { class: "diff" }, h("tbody", {}, changes.map((c) => h("tr", { class: c.op === "add" ? "added" : c.op === "remove" ? "removed" : "changed" },
    h("td", { class: "old" }, h("span", { class: "mono", text: `${c.op} ${c.path}` }), c.old !== undefined && c.op !== "add" ? h("mark", { class: "old field", text: JSON.stringify(c.old) }) : null),
    h("td", { class: "new" }, c.new !== undefined && c.op !== "remove" ? h("mark", { class: "new field", text: JSON.stringify(c.new) }) : null)))));
}

// ---------------------------------------------------------------------------------------------------------
// Artifacts

function artifactCard(shell, a) {
  const url = `/api/v1/projects/${shell.pid}/artifacts/${a.id}/content`;
  const isImage = (a.mime_type || "").startsWith("image/") && a.validation_status !== "invalid";
  const report = a.validation_report || {};
  const checks = report.checks || [];
  return h("article", { class: "card", "data-artifact": a.id },
    isImage ? h("img", { class: "thumb", src: url, alt: `Preview of ${a.name}`, loading: "lazy" }) : null,
    h("div", { class: "row" }, h("strong", { text: a.name }), badge(a.validation_status, a.validation_status === "pending" ? "pending-validation" : a.validation_status)),
    h("div", { class: "meta small mono", text: a.path }),
    h("div", { class: "meta small", text: [a.category, a.mime_type, a.size_bytes != null ? `${a.size_bytes} bytes` : null, a.task_id ? `task #${a.task_id}` : null].filter(Boolean).join(" · ") }),
    h("details", {}, h("summary", { text: `Validation report (${checks.filter((c) => c.ok).length}/${checks.length} checks)` }),
      h("ul", { class: "checklist" }, checks.map((c) => h("li", { class: c.ok ? "" : "fail", text: `${c.name}${c.detail ? `: ${c.detail}` : ""}` }))),
      (report.errors || []).length ? h("ul", {}, report.errors.map((e) => h("li", { class: "problem", text: typeof e === "string" ? e : JSON.stringify(e) }))) : null),
    h("a", { class: "button", href: url, download: a.name, text: "Download" }));
}

function ArtifactsScreen(shell) {
  const pid = shell.pid;
  let root = null;
  const reload = debounce(() => renderList(), 250);

  async function renderList() {
    const gallery = $("#gallery", root);
    if (!gallery) return;
    const category = $("#artifact-category", root).value;
    try {
      const page = await get(`projects/${pid}/artifacts?limit=200${category ? `&category=${category}` : ""}`);
      append(clear(gallery), [page.items.length ? page.items.slice().reverse().map((a) => artifactCard(shell, a)) : h("p", { class: "meta", text: "No artifact yet." })]);
    } catch (error) {
      showError(gallery, error);
    }
  }

  function uploadForm() {
    const file = h("input", { type: "file", name: "file", required: true });
    const category = h("select", { name: "category" }, h("option", { value: "", text: "(guess from the file)" }),
      ["code", "asset", "document", "screenshot"].map((c) => h("option", { value: c, text: c })));
    const taskInput = h("input", { name: "task_id", type: "number", min: 1, placeholder: "optional" });
    const errors = h("div", { class: "errors" });
    const submit = h("button", { class: "primary", type: "submit", text: "Upload" });
    const form = h("form", { class: "panel", "aria-label": "Upload" }, h("h2", { text: "Hand in a file" }),
      h("div", { class: "grid2" }, field("File", file), field("Category", category), field("Task id", taskInput)), errors, submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act(submit, errors, async () => {
        const body = new FormData();
        body.append("file", file.files[0]);
        const q = new URLSearchParams();
        if (category.value) q.set("category", category.value);
        if (taskInput.value) q.set("task_id", taskInput.value);
        await api("POST", `projects/${pid}/artifacts/files?${q}`, { body });
        form.reset();
        await renderList();
      });
    });
    return form;
  }

  return {
    title: "Artifacts",
    async mount(el) {
      root = el;
      const category = h("select", { id: "artifact-category" }, h("option", { value: "", text: "all" }),
        ["code", "asset", "document", "screenshot"].map((c) => h("option", { value: c, text: c })));
      category.addEventListener("change", () => renderList());
      el.append(h("div", { class: "row" }, h("h2", { text: "Artifacts" }), h("label", { for: "artifact-category", class: "inline", text: "Category" }), category),
        h("div", { class: "cards", id: "gallery", "aria-live": "polite" }), uploadForm());
      await renderList();
    },
    onEvent(ev) { if (ev.type.startsWith("artifact.")) reload(); },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Agents: how to connect them (MCP), and which ones are working now

function snippet(title, text) {
  const pre = h("pre", { tabindex: "0", text });
  const copy = h("button", { text: "Copy", "aria-label": `Copy: ${title}`, onclick: async () => {
    try { await navigator.clipboard.writeText(text); copy.textContent = "Copied"; } catch {
      const range = document.createRange(); range.selectNodeContents(pre);
      const sel = getSelection(); sel.removeAllRanges(); sel.addRange(range); copy.textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => { copy.textContent = "Copy"; }, 2000);
  } });
  return h("div", { class: "snippet" }, h("h3", { text: title }), copy, pre);
}

function mcpConfigs() {
  const url = `${location.origin}/mcp`;
  const needsToken = state.session && !state.session.local && state.session.auth_mode !== "local";
  const token = "<AGENT_TOKEN>";
  const bin = "/ABS/PATH/gateway/.venv/bin/gateway";
  const header = needsToken ? ` --header "Authorization: Bearer ${token}"` : "";
  const envToken = needsToken ? { GATEWAY_TOKEN: token } : {};
  const stdioEnv = { GATEWAY_DATABASE_URL: "sqlite:////ABS/PATH/gateway/data/gateway.db", GATEWAY_DATA_DIR: "/ABS/PATH/gateway/data", ...envToken };
  return [
    ["Claude Code — HTTP", `claude mcp add --transport http gateway ${url}${header}`],
    ["Claude Code — stdio", `claude mcp add gateway ${Object.entries(stdioEnv).map(([k, v]) => `--env ${k}=${v}`).join(" ")} -- ${bin} mcp`],
    ["Cursor — .cursor/mcp.json, HTTP", JSON.stringify({ mcpServers: { gateway: { url, ...(needsToken ? { headers: { Authorization: `Bearer ${token}` } } : {}) } } }, null, 2)],
    ["Cursor — .cursor/mcp.json, stdio", JSON.stringify({ mcpServers: { gateway: { command: bin, args: ["mcp"], env: stdioEnv } } }, null, 2)],
    ["Codex — ~/.codex/config.toml, HTTP", `[mcp_servers.gateway]\nurl = "${url}"${needsToken ? '\nbearer_token_env_var = "GATEWAY_TOKEN"   # export GATEWAY_TOKEN=<AGENT_TOKEN>' : ""}`],
    ["Codex — ~/.codex/config.toml, stdio", `[mcp_servers.gateway]\ncommand = "${bin}"\nargs = ["mcp"]\nenv = { ${Object.entries(stdioEnv).map(([k, v]) => `${k} = "${v}"`).join(", ")} }`],
    ["Any MCP client — streamable HTTP", `URL: ${url}${needsToken ? `\nHeader: Authorization: Bearer ${token}` : ""}\n\n# Python SDK\nfrom mcp import Client\n\nasync with Client("${url}") as client:\n    briefing = await client.call_tool("claim_task", {"project_id": "<project>", "agent_id": "my-agent"})`],
    ["Any MCP client — stdio", `command: ${bin}\nargs: ["mcp"]\nenv: ${JSON.stringify(stdioEnv)}`],
  ];
}

async function activeAgents(projects) {
  const rows = [];
  for (const p of projects) {
    if (!p.active_plan_id) continue;
    const plan = await get(`projects/${encodeURIComponent(p.id)}/plans/active`).catch(() => null);
    if (!plan) continue;
    for (const t of plan.tasks) if (t.claimed_by) rows.push({ project: p, task: t });
  }
  return rows;
}

function agentsTable(rows) {
  if (!rows.length) return h("p", { class: "meta", text: "No agent holds a claim right now." });
  const now = Date.now();
  return h("table", { id: "agents-table" }, h("thead", {}, h("tr", {}, ["Agent", "Project", "Task", "Status", "Claim"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows.sort((a, b) => a.task.claimed_by.localeCompare(b.task.claimed_by)).map(({ project, task }) => h("tr", { "data-agent": task.claimed_by },
      h("td", { class: "mono", text: task.claimed_by }),
      h("td", {}, h("a", { href: `#/projects/${encodeURIComponent(project.id)}/board`, text: project.name })),
      h("td", {}, h("a", { href: `#/projects/${encodeURIComponent(project.id)}/board?task=${task.id}`, text: `${task.code} ${task.title}` })),
      h("td", {}, badge(task.status)), h("td", { class: "small", text: claimText(task, now) })))));
}

function AgentsScreen(projectsOf) {
  let root = null;
  let stream = null;
  const refresh = debounce(() => renderActive(), 400);

  async function renderActive() {
    const slot = $("#active-agents", root);
    if (!slot) return;
    try {
      const rows = await activeAgents(await projectsOf());
      fill(slot, agentsTable(rows));
    } catch (error) { showError(slot, error); }
  }

  return {
    title: "Agents",
    async mount(el, shell) {
      root = el;
      el.append(h("h2", { text: "Active agents and their claims" }), h("section", { class: "panel", id: "active-agents", "aria-live": "polite" }, "Loading…"),
        h("h2", { text: "Connect an AI coding agent (MCP)" }),
        h("p", { class: "muted", text: "The same MCP server runs over streamable HTTP while the gateway serves, or on stdio launched by the agent. Replace /ABS/PATH with where Gateway is checked out" + (state.session && !state.session.local && state.session.auth_mode !== "local" ? " and <AGENT_TOKEN> with an agent token (`gateway token create --agent NAME --project ID`)." : ".") }),
        h("section", { class: "cards", id: "mcp-configs" }, mcpConfigs().map(([title, text]) => h("div", { class: "card" }, snippet(title, text)))));
      await renderActive();
      if (!shell) stream = await allProjectsStream({ onEvent: (ev) => { if (ev.type.startsWith("task.")) refresh(); }, onReset: () => renderActive() });
    },
    onEvent(ev) { if (ev.type.startsWith("task.")) refresh(); },
    destroy() { if (stream) stream.stop(); },
  };
}

function ProjectAgentsScreen(shell) {
  const screen = AgentsScreen(async () => [shell.project]);
  const mount = screen.mount;
  screen.mount = (el) => mount(el, shell);
  return screen;
}

function GlobalAgentsScreen() {
  return AgentsScreen(async () => (await get("projects?limit=100")).items);
}

// ---------------------------------------------------------------------------------------------------------
// Routing: #/projects, #/projects/<id>/<tab>?…, #/agents, #/login

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/projects";
  const [path, query] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: Object.fromEntries(new URLSearchParams(query || "")) };
}

async function route() {
  const { parts, params } = parseHash();
  const main = $("#main");
  for (const a of $$("[data-nav]")) a.setAttribute("aria-current", a.dataset.nav === parts[0] ? "page" : "false");
  if (parts[0] === "login") {
    if (state.shell) { state.shell.stop(); state.shell = null; }
    if (state.screen && state.screen.destroy) state.screen.destroy();
    state.screen = LoginScreen();
    clear(main);
    state.screen.mount(main);
    return;
  }
  if (!state.session && !(await loadSession())) { showLogin(); return; }
  if (parts[0] === "projects" && parts[1]) {
    const tab = parts[2] || "plan";
    if (state.screen && state.screen.destroy) state.screen.destroy();
    state.screen = null;
    if (!state.shell || state.shell.projectId !== parts[1]) {
      if (state.shell) state.shell.stop();
      clear(main);
      state.shell = new ProjectShell(parts[1]);
      try {
        await state.shell.start(main);
      } catch (error) {
        state.shell = null;
        fill(main, h("h1", { text: "Project" }), problemBox(error), h("a", { href: "#/projects", text: "All projects" }));
        return;
      }
    }
    state.shell.show(tab, params);
    return;
  }
  if (state.shell) { state.shell.stop(); state.shell = null; }
  if (state.screen && state.screen.destroy) state.screen.destroy();
  clear(main);
  state.screen = parts[0] === "agents" ? GlobalAgentsScreen() : ProjectsScreen();
  document.title = `${state.screen.title} · Gateway`;
  if (parts[0] === "agents") main.append(h("h1", { text: "Agents" }));
  try {
    await state.screen.mount(main);
  } catch (error) {
    main.append(problemBox(error));
  }
}

// Hooks for tests and for a person's console: drop the live connections, then resume from the last event.
window.gateway = {
  pauseLive: () => liveStreams.forEach((s) => s.pause()),
  resumeLive: () => liveStreams.forEach((s) => s.resume()),
  cursors: () => Array.from(liveStreams).map((s) => ({ path: s.path, after: s.after, status: s.status })),
};

// Whatever fails while a screen loads is shown where the screen would be, never as a blank page.
const navigate = () => route().catch((error) => fill($("#main"), problemBox(error)));
window.addEventListener("hashchange", navigate);
window.addEventListener("DOMContentLoaded", () => {
  if (!location.hash) history.replaceState(null, "", "#/projects");
  navigate();
});
