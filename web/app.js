// kiln's web page: a client of kiln's public REST API (the routes `kiln` and the official SDK call), with the
// function key in x-functions-key. Pages are hash routes; a page in flight polls every second. docs/web.md.

const API_VERSION = "2025-10-01";
const PROVIDER = "providers/Microsoft.VirtualMachineImages";
const POLL_MS = 1000;
const LIST_POLL_MS = 3000;
const TERMINAL = new Set(["Succeeded", "PartiallySucceeded", "Failed", "Canceled"]);
const DONE = new Set(["Succeeded", "Completed", "Skipped"]);
const FAILED = new Set(["Failed", "TimedOut", "Canceled", "Cancelled"]);
const STEP_LINE = /^==> \[([^\]]+)\] (\w+) step (\d+)(?: '((?:[^']|'(?! \())*)')? \(([^)]*)\) attempt (\d+): (\w+)/;

// ---------------------------------------------------------------------------------------------- the key
function functionKey() {
  const params = new URLSearchParams(location.search);
  const given = params.get("code");
  if (given) sessionStorage.setItem("kiln.key", given);
  return sessionStorage.getItem("kiln.key") || "";
}

// ---------------------------------------------------------------------------------------------- the API
class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(`${error.code || "Http" + status}: ${error.message || (typeof body === "string" ? body : "")}`);
    this.status = status;
    this.code = error.code;
  }
}

async function api(path, { method = "GET", offset } = {}) {
  const url = new URL(path, location.origin);
  if (!url.searchParams.has("api-version")) url.searchParams.set("api-version", API_VERSION);
  if (offset !== undefined) url.searchParams.set("offset", String(offset));
  const resp = await fetch(url, { method, headers: { "x-functions-key": functionKey() }, cache: "no-store" });
  const text = await resp.text();
  let body = text;
  if ((resp.headers.get("content-type") || "").includes("json") && text) body = JSON.parse(text);
  if (!resp.ok) throw new ApiError(resp.status, body);
  return { body, headers: resp.headers, status: resp.status };
}

async function listAll(path) {
  const items = [];
  let next = path;
  while (next) {
    const { body } = await api(next);
    items.push(...(body.value || []));
    next = body.nextLink ? new URL(body.nextLink).pathname + new URL(body.nextLink).search : null;
  }
  return items;
}

const enc = encodeURIComponent;
const subPath = (sub) => `/subscriptions/${enc(sub)}`;
const templatePath = (sub, rg, name) =>
  `${subPath(sub)}/resourceGroups/${enc(rg)}/${PROVIDER}/imageTemplates/${enc(name)}`;
const groupOf = (id) => (String(id).split("/resourceGroups/")[1] || "").split("/")[0];
const templateRoute = (sub, rg, name) => `#/subscriptions/${enc(sub)}/resourceGroups/${enc(rg)}/imageTemplates/${enc(name)}`;

// ---------------------------------------------------------------------------------------------- DOM helpers
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style") Object.assign(node.style, value); // CSSOM: allowed by the page's CSP
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function stateClass(state) {
  const text = String(state || "Pending");
  if (DONE.has(text)) return "ok";
  if (FAILED.has(text)) return text === "Canceled" || text === "Cancelled" ? "canceled" : "failed";
  if (text === "PartiallySucceeded") return "partial";
  if (["Running", "InProgress", "Replicating", "Canceling", "Queued"].includes(text)) return "running";
  return "pending";
}

const badge = (state, extra = "") => el("span", { class: `badge ${stateClass(state)} ${extra}`, "data-state": state || "Pending" }, state || "Pending");

function parseTime(value) {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "";
  const s = Math.max(ms, 0) / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  const whole = Math.round(s);
  const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), sec = whole % 60;
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}` : `${m}:${String(sec).padStart(2, "0")}`;
}

const when = (value) => (value ? new Date(value).toLocaleString() : "");
const subState = (p) => (p && !TERMINAL.has(p.runState) && p.runSubState ? ` / ${p.runSubState}` : "");

function setStatus(text, kind = "") {
  const node = document.getElementById("status");
  node.textContent = text;
  node.className = `status ${kind}`;
}

// ---------------------------------------------------------------------------------------------- routing
let generation = 0; // a page's polls stop once another page is shown

function current() {
  return generation;
}

function route() {
  generation += 1;
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const main = document.getElementById("main");
  main.replaceChildren();
  if (!functionKey()) return keyForm(main);
  if (parts[0] !== "subscriptions" || !parts[1]) {
    const sub = localStorage.getItem("kiln.subscription");
    if (sub) {
      location.replace(`#/subscriptions/${enc(sub)}`);
      return undefined;
    }
    return subscriptionForm(main);
  }
  const sub = parts[1];
  localStorage.setItem("kiln.subscription", sub);
  nav(sub);
  if (parts[2] === "patchCycles") return cyclesPage(main, sub, generation);
  if (parts[2] === "resourceGroups" && parts[4] === "imageTemplates" && parts[5]) {
    if (parts[6] === "runs" && parts[7]) return runPage(main, sub, parts[3], parts[5], parts[7], generation);
    return templatePage(main, sub, parts[3], parts[5], generation);
  }
  return templatesPage(main, sub, generation);
}

function nav(sub) {
  const node = document.getElementById("nav");
  node.replaceChildren(el("a", { href: `#/subscriptions/${enc(sub)}` }, "Templates"));
  api(`${subPath(sub)}/${PROVIDER}/patchCycles`)
    .then(() => node.append(el("a", { href: `#/subscriptions/${enc(sub)}/patchCycles`, id: "nav-cycles" }, "Patch cycles")))
    .catch(() => undefined); // 404: this kiln has no patch cycles; the page stays hidden
}

function keyForm(main) {
  const input = el("input", { id: "key", type: "password", size: 50, autocomplete: "off", required: true });
  main.append(
    el("h1", {}, "Function key"),
    el("p", {}, "kiln's API needs its function key. Open the page as /web/?code=<key> or give it here; it is kept for this tab only."),
    el("form", { onsubmit: (e) => { e.preventDefault(); sessionStorage.setItem("kiln.key", input.value.trim()); route(); } },
      input, " ", el("button", { type: "submit" }, "Use")),
  );
}

function subscriptionForm(main) {
  const input = el("input", { id: "subscription", size: 40, placeholder: "00000000-0000-0000-0000-000000000000", required: true });
  main.append(
    el("h1", {}, "Subscription"),
    el("p", {}, "Which subscription's image templates should the page show?"),
    el("form", { onsubmit: (e) => { e.preventDefault(); location.hash = `#/subscriptions/${enc(input.value.trim())}`; } },
      input, " ", el("button", { type: "submit" }, "Show")),
  );
}

function failure(main, error) {
  main.append(el("p", { class: "error-box" }, `kiln answered: ${error.message}`));
}

// A page refresh loop: `draw` runs now and then every `interval` ms until it returns false or the page changed.
async function poll(gen, draw, interval = POLL_MS) {
  while (gen === current()) {
    let again = false;
    try {
      again = await draw();
      setStatus(again ? `live · ${new Date().toLocaleTimeString()}` : "");
    } catch (error) {
      setStatus(`cannot read kiln: ${error.message}`, "bad");
      again = true;
    }
    if (!again) return;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

// ---------------------------------------------------------------------------------------------- templates
async function templatesPage(main, sub, gen) {
  main.append(el("h1", {}, "Image templates"), el("p", { class: "muted" }, `subscription ${sub}`));
  const holder = el("div", { id: "templates" });
  main.append(holder);
  await poll(gen, async () => {
    const templates = await listAll(`${subPath(sub)}/${PROVIDER}/imageTemplates`);
    const rows = await Promise.all(templates.map(async (t) => {
      const rg = groupOf(t.id);
      const base = templatePath(sub, rg, t.name);
      const [runs, triggers] = await Promise.all([
        api(`${base}/runs`).then((r) => r.body.value || []).catch(() => []),
        listAll(`${base}/triggers`).catch(() => []),
      ]);
      return { t, rg, run: runs[0], triggers };
    }));
    if (gen !== current()) return false;
    holder.replaceChildren(templatesTable(sub, rows));
    return rows.some(({ run }) => run && !TERMINAL.has(run.properties.runState));
  }, LIST_POLL_MS); // each template costs two calls: the list refreshes less often than a run
}

function templatesTable(sub, rows) {
  if (!rows.length) return el("p", { class: "muted" }, "No image templates yet. Create one with `kiln template create FILE`.");
  return el("table", { class: "grid" },
    el("thead", {}, el("tr", {}, ["Template", "Resource group", "Location", "Source", "Last run", "Started", "Took", "Triggers"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map(({ t, rg, run, triggers }) => {
      const p = (run && run.properties) || t.properties.lastRunStatus || {};
      const link = templateRoute(sub, rg, t.name);
      const source = t.properties.source || {};
      return el("tr", { "data-template": t.name },
        el("td", {}, el("a", { href: link }, t.name)),
        el("td", {}, rg),
        el("td", {}, t.location),
        el("td", {}, sourceText(source)),
        el("td", {}, run ? el("a", { href: `${link}/runs/${enc(run.name)}` }, badge(p.runState), subState(p)) : el("span", { class: "muted" }, "never run")),
        el("td", {}, when(p.startTime)),
        el("td", {}, p.startTime ? duration((parseTime(p.endTime) || Date.now()) - parseTime(p.startTime)) : ""),
        el("td", {}, triggers.length ? triggers.map(triggerChip) : el("span", { class: "muted" }, "none")),
      );
    })),
  );
}

function sourceText(source) {
  if (source.type === "PlatformImage") return `${source.publisher}:${source.offer}:${source.sku}:${source.version || "latest"}`;
  const id = source.imageVersionId || source.imageId || "";
  return `${source.type || "?"} ${id.split("/").slice(-3).join("/")}`.trim();
}

function triggerChip(trigger) {
  const p = trigger.properties || {};
  const status = p.status || {};
  return el("span", { class: `chip ${stateClass(status.code === "Healthy" ? "Succeeded" : status.code ? "Failed" : "")}`, title: status.message || "" },
    `${trigger.name} (${p.kind || "?"}${status.code ? ": " + status.code : ""})`);
}

// ---------------------------------------------------------------------------------------------- one template
async function templatePage(main, sub, rg, name, gen) {
  const base = templatePath(sub, rg, name);
  const link = templateRoute(sub, rg, name);
  const runButton = el("button", { id: "run", onclick: async () => {
    runButton.disabled = true;
    try {
      const { headers } = await api(`${base}/run`, { method: "POST" });
      const runId = headers.get("x-kiln-run-id");
      location.hash = runId ? `${link}/runs/${enc(runId)}` : link;
    } catch (error) {
      setStatus(`run refused: ${error.message}`, "bad");
      runButton.disabled = false;
    }
  } }, "Run a build");
  runButton.disabled = true; // enabled once the template and its runs are shown, and no run is in flight
  main.append(el("p", { class: "crumbs" }, el("a", { href: `#/subscriptions/${enc(sub)}` }, "templates"), ` / ${rg} /`),
    el("h1", {}, name, " ", runButton));
  const details = el("div", { id: "details" });
  const runsBox = el("div", { id: "runs" });
  main.append(details, el("h2", {}, "Runs"), runsBox);
  let template;
  try {
    template = (await api(base)).body;
  } catch (error) {
    return failure(main, error);
  }
  details.replaceChildren(templateDetails(template));
  const triggers = await listAll(`${base}/triggers`).catch(() => []);
  if (triggers.length) details.append(el("h2", {}, "Triggers"), el("div", {}, triggers.map(triggerChip)));
  await poll(gen, async () => {
    const runs = await listAll(`${base}/runs`);
    if (gen !== current()) return false;
    runsBox.replaceChildren(runsTable(link, runs));
    const busy = runs.some((r) => !TERMINAL.has(r.properties.runState));
    runButton.disabled = busy;
    return busy;
  });
  return undefined;
}

function templateDetails(t) {
  const p = t.properties || {};
  const customize = p.customize || [];
  const distribute = p.distribute || [];
  return el("div", { class: "cols" },
    el("dl", { class: "facts" },
      fact("Location", t.location), fact("Source", sourceText(p.source || {})),
      fact("VM size", (p.vmProfile || {}).vmSize || "default"), fact("Build timeout", p.buildTimeoutInMinutes ? `${p.buildTimeoutInMinutes} min` : "default"),
      fact("Identity", Object.keys((t.identity || {}).userAssignedIdentities || {}).map((id) => id.split("/").pop()).join(", ")),
      fact("State", p.provisioningState)),
    el("div", {},
      el("h3", {}, `Customizers (${customize.length})`),
      el("ol", { start: 0 }, customize.map((c) => el("li", {}, `${c.name || "(unnamed)"} `, el("span", { class: "muted" }, c.type)))),
      el("h3", {}, `Distribute (${distribute.length})`),
      el("ul", {}, distribute.map((d) => el("li", {}, `${d.runOutputName} `, el("span", { class: "muted" }, `${d.type}${d.replicationRegions ? " → " + d.replicationRegions.join(", ") : ""}${d.targetRegions ? " → " + d.targetRegions.map((r) => r.name).join(", ") : ""}`))))),
  );
}

function fact(label, value) {
  return [el("dt", {}, label), el("dd", {}, value || "—")];
}

function runsTable(link, runs) {
  if (!runs.length) return el("p", { class: "muted" }, "No runs yet.");
  return el("table", { class: "grid" },
    el("thead", {}, el("tr", {}, ["Run", "#", "Trigger", "State", "Started", "Took", "Message"].map((h) => el("th", {}, h)))),
    el("tbody", {}, runs.map((r) => {
      const p = r.properties;
      return el("tr", {},
        el("td", {}, el("a", { href: `${link}/runs/${enc(r.name)}` }, r.name)),
        el("td", {}, p.runNumber), el("td", {}, p.trigger),
        el("td", {}, badge(p.runState), subState(p)),
        el("td", {}, when(p.startTime)),
        el("td", {}, duration((parseTime(p.endTime) || Date.now()) - parseTime(p.startTime))),
        el("td", { class: "message" }, p.message || ""));
    })));
}

// ---------------------------------------------------------------------------------------------- one run
async function runPage(main, sub, rg, name, runId, gen) {
  const base = templatePath(sub, rg, name);
  const link = templateRoute(sub, rg, name);
  const cancel = el("button", { id: "cancel", hidden: true, onclick: async () => {
    cancel.disabled = true;
    await api(`${base}/cancel`, { method: "POST" }).catch((e) => setStatus(`cancel refused: ${e.message}`, "bad"));
  } }, "Cancel");
  const head = el("div", { id: "run-head" });
  const timeline = el("div", { id: "timeline", class: "timeline" });
  const errors = el("div", { id: "errors" });
  const outputs = el("div", { id: "outputs" });
  const provenance = el("div", { id: "provenance" });
  const log = el("pre", { id: "log", class: "log", tabindex: 0 });
  main.append(
    el("p", { class: "crumbs" }, el("a", { href: `#/subscriptions/${enc(sub)}` }, "templates"), " / ", el("a", { href: link }, name), " / run"),
    el("h1", {}, runId, " ", cancel), head,
    el("h2", {}, "Time line"), timeline, errors,
    el("div", { class: "cols" }, el("section", {}, el("h2", {}, "Run outputs"), outputs), el("section", {}, el("h2", {}, "Provenance"), provenance)),
    el("h2", {}, "customization.log"), log,
  );
  let template = null;
  try {
    template = (await api(base)).body;
  } catch (error) {
    return failure(main, error);
  }
  const state = { offset: 0, text: "", observed: new Map(), outputsShown: false };
  await poll(gen, async () => {
    let run;
    try {
      run = (await api(`${base}/runs/${enc(runId)}`)).body;
    } catch (error) {
      if (error.status === 404) { head.replaceChildren(el("p", { class: "muted" }, "The run is queued; its document appears with its first report.")); return true; }
      throw error;
    }
    await readLog(base, runId, state, log);
    if (gen !== current()) return false;
    const p = run.properties;
    const finished = TERMINAL.has(p.runState);
    const now = finished ? parseTime(p.endTime) || Date.now() : Date.now();
    observe(state.observed, p, Date.now());
    cancel.hidden = finished;
    head.replaceChildren(runHead(p, now));
    timeline.replaceChildren(...renderTimeline(buildRows(p, template, logEvents(state.text), state.observed, now), parseTime(p.startTime) || now, now, finished));
    errors.replaceChildren(...errorBoxes(p, template));
    provenance.replaceChildren(provenanceList(run, template));
    if (finished && !state.outputsShown) {
      state.outputsShown = true;
      outputs.replaceChildren(await outputsList(base, name, runId));
    } else if (!finished) {
      outputs.replaceChildren(el("p", { class: "muted" }, "When the run ends."));
    }
    return !finished;
  });
  return undefined;
}

async function readLog(base, runId, state, node) {
  let resp;
  try {
    resp = await api(`${base}/runs/${enc(runId)}/log`, { offset: state.offset });
  } catch (error) {
    if (error.status === 404) return;
    throw error;
  }
  const text = typeof resp.body === "string" ? resp.body : JSON.stringify(resp.body);
  state.offset = Number(resp.headers.get("x-kiln-log-offset")) || state.offset + new TextEncoder().encode(text).length;
  if (!text) {
    if (!state.text) node.textContent = "(no log yet: it is written once the build VM runs customizers)";
    return;
  }
  const stick = node.scrollTop + node.clientHeight >= node.scrollHeight - 4;
  if (!state.text) node.textContent = "";
  state.text += text;
  node.append(document.createTextNode(text));
  if (stick) node.scrollTop = node.scrollHeight;
}

function runHead(p, now) {
  return el("div", { class: "run-head" },
    badge(p.runState, "big"), el("span", { class: "substate" }, subState(p)),
    el("span", { class: "muted" }, ` run #${p.runNumber || "?"} · ${p.trigger || ""} · started ${when(p.startTime)} · `),
    el("span", { id: "elapsed" }, duration(now - parseTime(p.startTime))),
    el("p", { class: "message", id: "message" }, p.message || ""));
}

// The log's step lines: "==> [2026-12-03T12:55:21Z] customize step 0 'upgrade-packages' (Shell) attempt 0: Succeeded, exit code 0".
function logEvents(text) {
  const events = [];
  for (const line of text.split("\n")) {
    const m = STEP_LINE.exec(line);
    if (m) events.push({ time: parseTime(m[1]), phase: m[2], index: Number(m[3]), name: m[4] || "", type: m[5], attempt: Number(m[6]), state: m[7] });
  }
  return events;
}

// What the page saw change while it polled: when a target or a region reached its state.
function observe(observed, p, now) {
  const mark = (key, value) => {
    const seen = observed.get(key);
    if (!seen || seen.state !== value) observed.set(key, { state: value, since: now, first: seen ? seen.first : now });
  };
  if (p.step) mark(`step:${p.step.phase}:${p.step.index}`, p.step.state);
  for (const t of p.targets || []) {
    mark(`target:${t.runOutputName}`, t.state);
    for (const [region, value] of Object.entries(t.regions || {})) mark(`region:${t.runOutputName}:${region}`, regionState(value));
  }
}

const regionState = (value) => (value && typeof value === "object" ? value.state || value.status : value);

function phaseOf(p, name) {
  return (p.phases || []).find((ph) => ph.phase === name) || null;
}

// The rows of the time line: phases, then each customizer (and validation step), then each target and its regions.
function buildRows(p, template, events, observed, now) {
  const rows = [];
  const tp = (template && template.properties) || {};
  for (const ph of p.phases || []) {
    rows.push({ kind: "phase", group: "Phases", label: ph.phase, name: ph.phase, state: ph.state, start: parseTime(ph.startTime), end: parseTime(ph.endTime) });
  }
  const steps = {
    customize: tp.customize || [],
    validate: ((tp.validate || {}).inVMValidations) || [],
  };
  for (const [phase, declared] of Object.entries(steps)) {
    const ph = phaseOf(p, phase);
    const reported = (p.customizers || []).filter((c) => (c.phase || "customize") === phase);
    let previousEnd = ph ? parseTime(ph.startTime) : null;
    declared.forEach((step, index) => {
      const row = { kind: "customizer", group: phase === "customize" ? "Customizers" : "Validation", label: `${phase}[${index}] ${step.name || step.type}`, name: step.name || "", index, phase, state: "Pending", start: null, end: null };
      const given = reported.find((c) => c.index === index);
      const logged = events.filter((e) => e.phase === phase && e.index === index);
      const live = p.step && p.step.phase === phase && p.step.index === index ? p.step : null;
      if (given && parseTime(given.startTime)) {
        Object.assign(row, { state: given.state || "Running", start: parseTime(given.startTime), end: parseTime(given.endTime) });
      } else if (logged.length) {
        const last = logged[logged.length - 1];
        const end = Math.max(last.time, previousEnd || last.time);
        Object.assign(row, { state: last.state, start: previousEnd !== null ? previousEnd : end, end: live && live.state === "Running" ? null : end });
      } else if (live) {
        const seen = observed.get(`step:${phase}:${index}`);
        const start = previousEnd !== null ? previousEnd : seen ? seen.first : now;
        Object.assign(row, { state: live.state || "Running", start, end: live.state === "Running" ? null : ph && parseTime(ph.endTime) });
      }
      if (row.end) previousEnd = row.end;
      rows.push(row);
    });
  }
  const distribute = phaseOf(p, "distribute");
  const dStart = distribute ? parseTime(distribute.startTime) : null;
  const dEnd = distribute ? parseTime(distribute.endTime) : null;
  const targets = new Map((p.targets || []).map((t) => [t.runOutputName, t]));
  for (const d of tp.distribute || []) if (!targets.has(d.runOutputName)) targets.set(d.runOutputName, { runOutputName: d.runOutputName, type: d.type, state: null, regions: {} });
  const declared = new Map((tp.distribute || []).map((d) => [d.runOutputName, declaredRegions(d)]));
  const declaredType = new Map((tp.distribute || []).map((d) => [d.runOutputName, d.type]));
  for (const t of targets.values()) {
    // A target the run has not reported yet runs from the start of distribute (kiln starts them all at once).
    const state = t.state === "Running" || !t.state ? (dStart && !dEnd ? "Running" : "Pending") : t.state;
    // The template names the regions; until the run reports one, it replicates while its target runs.
    const waiting = state === "Running" ? "Replicating" : "Pending";
    t.regions = { ...Object.fromEntries((declared.get(t.runOutputName) || []).map((r) => [r, waiting])), ...(t.regions || {}) };
    const seen = observed.get(`target:${t.runOutputName}`);
    const tEnd = parseTime(t.endTime) || (TERMINAL.has(state) || DONE.has(state) ? (seen && seen.since !== seen.first ? seen.since : dEnd) : null);
    rows.push({ kind: "target", group: "Distribute", label: `${t.runOutputName} (${t.type || declaredType.get(t.runOutputName) || "?"})`, name: t.runOutputName, state, start: parseTime(t.startTime) || dStart, end: tEnd });
    for (const [region, value] of Object.entries(t.regions || {})) {
      const rState = regionState(value) || "Pending";
      const rSeen = observed.get(`region:${t.runOutputName}:${region}`);
      const detail = value && typeof value === "object" ? value : {};
      const terminal = DONE.has(rState) || FAILED.has(rState);
      const rEnd = parseTime(detail.endTime) || (terminal ? (rSeen && rSeen.since !== rSeen.first ? rSeen.since : tEnd || dEnd) : null);
      const progress = (t.regionProgress || {})[region] ?? detail.progress;
      rows.push({ kind: "region", group: "Distribute", label: `  ${region}`, name: region, target: t.runOutputName, state: rState, start: parseTime(detail.startTime) || dStart, end: rEnd, progress });
    }
  }
  return rows;
}

function declaredRegions(d) {
  if (d.type !== "SharedImage") return [];
  const regions = d.replicationRegions || (d.targetRegions || []).map((r) => r.name);
  return (regions || []).map((r) => String(r).toLowerCase().replace(/\s+/g, ""));
}

function renderTimeline(rows, t0, now, finished) {
  const t1 = Math.max(now, t0 + 1000);
  const span = t1 - t0;
  const pct = (t) => `${(((t - t0) / span) * 100).toFixed(3)}%`;
  const out = [axis(t0, span)];
  let group = null;
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      out.push(el("div", { class: "tl-group" }, group));
    }
    const track = el("div", { class: "tl-track" });
    if (row.start !== null && row.start !== undefined) {
      const end = row.end || (finished ? t1 : now);
      const width = Math.max(((end - row.start) / span) * 100, 0.6);
      const live = !row.end && !finished;
      track.append(el("div", {
        class: `bar ${stateClass(row.state)}${live ? " live" : ""}`,
        style: { left: pct(row.start), width: `${width.toFixed(3)}%` },
        title: `${row.label.trim()}: ${row.state}${row.end ? ", " + duration(row.end - row.start) : ""}`,
        "data-kind": row.kind, "data-name": row.name, "data-state": row.state,
        "data-target": row.target,
      }, row.end ? duration(row.end - row.start) : row.progress !== undefined && row.progress !== null ? `${row.progress}%` : ""));
    }
    out.push(el("div", { class: `tl-row ${row.kind}`, "data-kind": row.kind, "data-name": row.name, "data-state": row.state, "data-target": row.target },
      el("div", { class: "tl-label", title: row.label.trim() }, row.label.trim()),
      el("div", { class: "tl-state" }, badge(row.state)),
      track));
  }
  return out;
}

function axis(t0, span) {
  const ticks = el("div", { class: "tl-track axis" });
  const step = niceStep(span / 6);
  for (let t = 0; t <= span; t += step) {
    ticks.append(el("span", { class: "tick", style: { left: `${((t / span) * 100).toFixed(3)}%` } }, duration(t)));
  }
  return el("div", { class: "tl-row axis-row" }, el("div", { class: "tl-label muted" }, new Date(t0).toLocaleTimeString()), el("div", { class: "tl-state" }), ticks);
}

function niceStep(raw) {
  for (const s of [250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 900000, 1800000, 3600000]) if (s >= raw) return s;
  return 7200000;
}

function errorBoxes(p, template) {
  const boxes = [];
  const customize = ((template && template.properties) || {}).customize || [];
  if (p.runState === "Failed" || p.runState === "Canceled" || (p.errors || []).length) {
    const step = p.step && (p.runState === "Failed" || p.runState === "Canceled") ? p.step : null;
    const stepName = step ? step.name || (step.phase === "customize" && customize[step.index] ? customize[step.index].name : "") : "";
    const where = step ? `${step.phase}[${step.index}]${stepName ? " " + stepName : ""}` : "";
    for (const error of p.errors || []) {
      boxes.push(el("div", { class: "error-box", "data-code": error.code || "" },
        el("strong", {}, error.code || "Error"),
        error.phase ? el("span", { class: "where" }, ` in phase ${error.phase}`) : null,
        error.phase && error.phase === (step && step.phase) && where ? el("span", { class: "where customizer", id: "failed-step" }, ` at ${where}`) : null,
        error.target ? el("span", { class: "where" }, ` target ${error.target}`) : null,
        el("pre", {}, error.message || "")));
    }
  }
  if (!boxes.length && (p.runState === "Failed" || p.runState === "Canceled")) {
    boxes.push(el("div", { class: "error-box" }, el("strong", {}, `Run${p.runState}`), el("pre", {}, p.message || "")));
  }
  return boxes.length ? [el("h2", {}, "Errors"), ...boxes] : [];
}

function provenanceList(run, template) {
  const p = run.properties;
  const source = ((template && template.properties) || {}).source || {};
  const vm = p.keptBuildVm;
  return el("dl", { class: "facts" },
    fact("Run", `${p.runId} (#${p.runNumber})`), fact("Trigger", p.trigger),
    fact("Source", sourceText(source)), fact("Source version built", p.exactVersion),
    fact("Staging resource group", p.stagingResourceGroup),
    fact("Started", when(p.startTime)), fact("Ended", when(p.endTime)),
    vm ? fact("Build VM kept", `${vm.vmName} in ${vm.resourceGroup} (password: secret ${vm.adminSecretName})`) : null,
    fact("Template", template ? template.id : ""));
}

async function outputsList(base, name, runId) {
  // runOutputs belong to the template: they are this run's when it is the template's newest.
  const runs = (await api(`${base}/runs`)).body.value || [];
  if (runs.length && runs[0].name !== runId) return el("p", { class: "muted" }, "A newer run has replaced this run's outputs.");
  const items = await listAll(`${base}/runOutputs`).catch(() => []);
  if (!items.length) return el("p", { class: "muted" }, "No run outputs.");
  return el("dl", { class: "facts outputs" }, items.map((o) => fact(o.name, (o.properties || {}).artifactId || (o.properties || {}).artifactUri || "")));
}

// ---------------------------------------------------------------------------------------------- patch cycles
async function cyclesPage(main, sub, gen) {
  main.append(el("h1", {}, "Patch cycles"));
  const holder = el("div", { id: "cycles" });
  main.append(holder);
  await poll(gen, async () => {
    let cycles;
    try {
      cycles = await listAll(`${subPath(sub)}/${PROVIDER}/patchCycles`);
    } catch (error) {
      if (error.status === 404) { holder.replaceChildren(el("p", { class: "muted" }, "This kiln has no patch cycles.")); return false; }
      throw error;
    }
    if (gen !== current()) return false;
    holder.replaceChildren(cyclesTable(sub, cycles));
    return cycles.some((c) => !TERMINAL.has(((c.properties || {}).state) || "Succeeded"));
  });
}

function cyclesTable(sub, cycles) {
  if (!cycles.length) return el("p", { class: "muted" }, "No patch cycle has run yet.");
  const keys = [...new Set(cycles.flatMap((c) => Object.keys(c.properties || {})))];
  return el("table", { class: "grid" },
    el("thead", {}, el("tr", {}, el("th", {}, "Cycle"), keys.map((k) => el("th", {}, k)))),
    el("tbody", {}, cycles.map((c) => el("tr", {}, el("td", {}, c.name),
      keys.map((k) => el("td", {}, cycleValue(sub, (c.properties || {})[k])))))));
}

function cycleValue(sub, value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) {
    return el("span", {}, `${value.length}`, value.length ? el("span", { class: "muted" }, ": " + value.map((v) => (typeof v === "object" ? v.runId || v.template || v.name || JSON.stringify(v) : v)).join(", ")) : "");
  }
  if (typeof value === "object") return JSON.stringify(value);
  if (["Succeeded", "Failed", "Running", "Canceled", "PartiallySucceeded"].includes(value)) return badge(value);
  return String(value);
}

// ---------------------------------------------------------------------------------------------- start
window.addEventListener("hashchange", route);
// The key stays in the address bar: the page itself is behind it, so a reload needs it (as any function URL).
route();
