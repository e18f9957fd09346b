// The mock's request journal. It polls the inspection API (the same endpoints tests read) and
// renders what it finds. Everything a client sent is attacker-controlled text: it only ever
// reaches the page through textContent / text nodes and checked attribute values, never as HTML.
"use strict";

(() => {
  const ROOT = document.body.dataset.root || "";
  const POLL_MS = 1000;
  const FULL_EVERY = 15;
  const MAX_REQUESTS = 200;
  const MAX_THUMBS = 6;
  const SOURCES = {
    requests: "/_mock/requests",
    tasks: "/_mock/tasks",
    deliveries: "/_mock/deliveries",
    config: "/_mock/config",
  };
  const MIME = { JPG: "jpeg", JPEG: "jpeg", PNG: "png", WEBP: "webp" };

  const data = { requests: [], tasks: [], deliveries: [], config: null };
  const etags = {};
  const texts = {};
  const opened = new Map(); // "requestId:taskIndex" -> payload <details> open, as the user left it
  let thumbs = new Map(); // src -> <img>, reused across renders so images load once
  let timer = null;
  let loaded = false;
  let polls = 0;
  let busy = false;
  let again = false;

  const $ = (id) => document.getElementById(id);

  // -- DOM helpers: text only ------------------------------------------------------------------

  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child)); // a string becomes a text node
    }
    return node;
  }

  const badge = (text, kind) => el("span", `badge ${kind || ""}`.trim(), text);
  const code = (text) => el("code", null, text);

  function time(epochSeconds) {
    if (typeof epochSeconds !== "number") return "";
    const d = new Date(epochSeconds * 1000);
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function short(text, limit = 120) {
    const s = String(text);
    return s.length > limit ? `${s.slice(0, limit)}… (${s.length} chars)` : s;
  }

  // -- polling ---------------------------------------------------------------------------------

  async function fetchSource(name) {
    // Conditional on the mock's change counter; every FULL_EVERY-th poll fetches in full anyway.
    const headers = etags[name] && polls % FULL_EVERY ? { "If-None-Match": etags[name] } : {};
    const response = await fetch(ROOT + SOURCES[name], { headers, cache: "no-store" });
    if (response.status === 304) return false;
    if (!response.ok) throw new Error(`${SOURCES[name]} answered HTTP ${response.status}`);
    etags[name] = response.headers.get("ETag");
    const text = await response.text();
    if (text === texts[name]) return false;
    texts[name] = text;
    data[name] = JSON.parse(text);
    return true;
  }

  async function poll() {
    if (busy) {
      again = true; // a reset or a tab switch asked for a poll while one was running
      return;
    }
    busy = true;
    clearTimeout(timer);
    try {
      if (!document.hidden || !loaded) {
        polls += 1;
        const changed = await Promise.all(Object.keys(SOURCES).map(fetchSource));
        setLive(true);
        if (changed.some(Boolean) || !loaded) {
          loaded = true;
          render();
        }
      }
    } catch (error) {
      setLive(false, error instanceof Error ? error.message : String(error));
    } finally {
      busy = false;
    }
    if (again) {
      again = false;
      poll();
    } else {
      timer = setTimeout(poll, POLL_MS);
    }
  }

  function setLive(ok, why) {
    const live = $("live");
    live.className = ok ? "live on" : "live off";
    live.textContent = ok ? "live" : "mock unreachable, retrying";
    live.title = ok ? `polling the inspection API every ${POLL_MS / 1000} s` : why || "";
  }

  async function reset() {
    const button = $("reset");
    button.disabled = true;
    try {
      const response = await fetch(`${ROOT}/_mock/reset`, {
        method: "POST",
        headers: { "Content-Type": "application/json" }, // state-changing /_mock/ routes take JSON only
      });
      if (!response.ok) throw new Error(`/_mock/reset answered HTTP ${response.status}`);
      opened.clear();
    } catch (error) {
      setLive(false, error instanceof Error ? error.message : String(error));
    } finally {
      button.disabled = false;
    }
    poll();
  }

  // -- the fault panel -------------------------------------------------------------------------

  function renderFaults(config) {
    const box = $("faults");
    box.replaceChildren();
    if (!config) return;
    const pct = (x) => `${Math.round(x * 1000) / 10} %`;
    const rows = [
      ["seed", String(config.seed), false],
      ["latency", config.latency_max > 0 ? `${config.latency_min}–${config.latency_max} s` : "none", config.latency_max > 0],
      ["failure rate", pct(config.failure_rate), config.failure_rate > 0],
      ["timeout rate", pct(config.timeout_rate), config.timeout_rate > 0],
      ["NSFW rate", pct(config.nsfw_rate), config.nsfw_rate > 0],
      ["webhook drop rate", pct(config.webhook_drop_rate), config.webhook_drop_rate > 0],
      ["rate limit", config.rate_limit > 0 ? `${config.rate_limit} per ${config.rate_window} s` : "off", config.rate_limit > 0],
      ["delivery attempts", `${config.delivery_attempts} (backoff ${config.delivery_base_delay} s, doubling)`, false],
      ["outbound", config.outbound_allow && config.outbound_allow.length ? `loopback + ${config.outbound_allow.join(", ")}` : "loopback only", false],
      ["API keys", config.api_keys && config.api_keys.length ? `${config.api_keys.length} accepted` : "any non-empty key", false],
    ];
    for (const [name, value, active] of rows) {
      box.append(el("div", active ? "fault active" : "fault", el("dt", null, name), el("dd", null, value)));
    }
  }

  // -- the payload, highlighted ------------------------------------------------------------------

  function jsonView(value, marks) {
    const out = el("div", "json");
    const seen = new Set();

    function line(depth, path, parts) {
      const bad = path !== null && marks.has(path);
      if (bad) seen.add(path);
      out.append(el("div", bad ? "line bad" : "line", "  ".repeat(depth), parts));
    }

    function scalar(v) {
      if (typeof v === "string") return el("span", "s", JSON.stringify(short(v)));
      if (typeof v === "number") return el("span", "n", String(v));
      return el("span", "b", String(v));
    }

    function walk(v, path, depth, key, last) {
      const label = key === null ? [] : [el("span", "k", JSON.stringify(key)), ": "];
      const comma = last ? "" : ",";
      if (v !== null && typeof v === "object") {
        const isArray = Array.isArray(v);
        const entries = isArray ? v.map((item, i) => [i, item]) : Object.entries(v);
        const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
        if (!entries.length) return line(depth, path, [label, open + close + comma]);
        line(depth, path, [label, open]);
        entries.forEach(([k, item], i) => {
          const child = isArray ? `${path}[${k}]` : path ? `${path}.${k}` : String(k);
          walk(item, child, depth + 1, isArray ? null : k, i === entries.length - 1);
        });
        return line(depth, null, [close + comma]);
      }
      return line(depth, path, [label, scalar(v), comma]);
    }

    walk(value, "", 0, null, true);
    for (const path of marks) {
      if (!seen.has(path) && path) out.append(el("div", "line bad", `⟵ ${path}: missing`));
    }
    return out;
  }

  // -- tasks -----------------------------------------------------------------------------------

  function thumbSrc(result, outputFormat) {
    if (typeof result.imageURL === "string") {
      try {
        const match = new URL(result.imageURL, location.href).pathname.match(/\/images\/[A-Za-z0-9-]+\.(jpe?g|png|webp)$/i);
        return match ? ROOT + match[0] : null;
      } catch {
        return null;
      }
    }
    if (typeof result.imageDataURI === "string" && /^data:image\/(jpeg|png|webp);base64,[A-Za-z0-9+/]+=*$/.test(result.imageDataURI)) {
      return result.imageDataURI;
    }
    if (typeof result.imageBase64Data === "string" && /^[A-Za-z0-9+/]+=*$/.test(result.imageBase64Data)) {
      return `data:image/${MIME[String(outputFormat).toUpperCase()] || "jpeg"};base64,${result.imageBase64Data}`;
    }
    // the inspection API never inlines large image data: the mock serves every image at /images/ too
    const ext = { JPG: "jpg", PNG: "png", WEBP: "webp" }[String(outputFormat || "JPG").toUpperCase()];
    if (ext && typeof result.imageUUID === "string" && /^[0-9a-f-]{36}$/i.test(result.imageUUID)) {
      return `${ROOT}/images/${result.imageUUID}.${ext}`;
    }
    return null;
  }

  function thumbnail(src, used) {
    if (used.has(src)) return used.get(src).cloneNode();
    let img = thumbs.get(src);
    if (!img) {
      img = document.createElement("img");
      img.alt = "generated image";
      img.loading = "lazy";
      img.src = src; // checked by thumbSrc: a path on this mock or a data:image URI
    }
    used.set(src, img);
    return img;
  }

  function deliveryView(attempts) {
    const byId = new Map();
    for (const a of attempts) {
      if (!byId.has(a.deliveryId)) byId.set(a.deliveryId, []);
      byId.get(a.deliveryId).push(a);
    }
    const list = el("ul", "deliveries");
    for (const group of byId.values()) {
      const last = group[group.length - 1];
      const outcome = last.outcome === "delivered" ? "ok" : last.final || last.outcome === "dropped" ? "err" : "warn";
      const retries = group.length - 1;
      list.append(
        el(
          "li",
          "delivery",
          badge(last.kind, "kind"),
          " ",
          code(short(last.url, 80)),
          " ",
          group.map((a) =>
            el("span", `attempt ${a.outcome === "delivered" ? "ok" : "err"}`, `#${a.attempt} ${a.statusCode ?? "—"} ${a.outcome}`),
          ),
          " ",
          badge(retries === 1 ? "1 retry" : `${retries} retries`, retries ? "warn" : ""),
          last.final || last.outcome === "delivered" ? null : badge("retrying", outcome),
          last.error ? el("span", "muted", ` ${short(last.error, 100)}`) : null,
        ),
      );
    }
    return list;
  }

  function taskView(entry, t, body, runs, deliveries, used) {
    const uuid = t.taskUUID === null || t.taskUUID === undefined ? "" : String(t.taskUUID);
    const run = runs.get(uuid.toLowerCase());
    const node = el("div", "task");
    node.dataset.taskUuid = uuid;
    const state = taskState(t, run);
    const head = el("div", "task-head", badge(String(t.taskType ?? "no taskType"), "type"), " ", el("code", "task-uuid", uuid || "(no taskUUID)"), " ");
    if (!t.valid) head.append(badge("invalid", "err state"));
    if (run) {
      // a webhookURL makes the mock acknowledge at once, whatever deliveryMethod says
      head.append(badge(run.webhookURL ? "async" : run.deliveryMethod, "mode"));
      if (run.webhookURL) head.append(badge("webhook", "mode"));
      if (run.uploadEndpoint) head.append(badge("upload", "mode"));
      head.append(badge(run.status, `state ${run.status === "success" ? "ok" : run.status === "error" ? "err" : "busy"}`));
      head.append(el("span", "muted", ` ${run.completed}/${run.numberResults} images`));
      if (run.latency) head.append(el("span", "muted", ` · latency ${Math.round(run.latency * 1000)} ms`));
    } else if (t.valid && t.taskType === "imageInference") {
      head.append(badge("forgotten", "muted-badge"));
    }
    node.append(head);
    node.dataset.state = state || "";

    if (body && typeof body === "object" && typeof body.positivePrompt === "string") {
      node.append(el("p", "prompt", el("span", "muted", "prompt "), el("q", null, short(body.positivePrompt, 400))));
    }
    if (t.errors && t.errors.length) {
      node.append(
        el(
          "ul",
          "errors",
          t.errors.map((e) =>
            el(
              "li",
              null,
              badge(String(e.code), "err"),
              " ",
              e.parameter ? el("mark", "param", String(e.parameter)) : null,
              " ",
              el("span", null, String(e.message ?? "")),
            ),
          ),
        ),
      );
    }
    if (t.warnings && t.warnings.length) {
      // accepted by Runware, but deprecated or without effect (checkNSFW, ttl with base64 output, ...)
      node.append(
        el(
          "ul",
          "warnings",
          t.warnings.map((w) =>
            el(
              "li",
              null,
              badge(String(w.code), "warn"),
              " ",
              w.parameter ? el("mark", "param", String(w.parameter)) : null,
              " ",
              el("span", null, String(w.message ?? "")),
            ),
          ),
        ),
      );
    }
    if (run && run.error) {
      node.append(el("ul", "errors", el("li", null, badge(String(run.error.code), "err"), " ", String(run.error.message ?? ""))));
    }
    if (run && run.results.length) {
      const format = body && typeof body === "object" ? body.outputFormat || "JPG" : "JPG";
      const strip = el("div", "thumbs");
      for (const result of run.results.slice(0, MAX_THUMBS)) {
        const src = thumbSrc(result, format);
        const caption = `seed ${result.seed}${result.NSFWContent ? " · NSFW" : ""}`;
        strip.append(el("figure", null, src ? thumbnail(src, used) : el("div", "noimg", "no preview"), el("figcaption", null, caption)));
      }
      if (run.results.length > MAX_THUMBS) strip.append(el("span", "muted", `+${run.results.length - MAX_THUMBS} more`));
      node.append(strip);
    }
    const mine = deliveries.get(uuid) || [];
    if (mine.length) node.append(deliveryView(mine));

    if (body !== undefined) {
      const key = `${entry.id}:${t.index}`;
      const details = el("details", "payload", el("summary", null, "payload sent"));
      const marks = new Set((t.errors || []).map((e) => e.parameter).filter((p) => typeof p === "string"));
      details.append(jsonView(body, marks));
      details.open = opened.has(key) ? opened.get(key) : !t.valid;
      details.addEventListener("toggle", () => opened.set(key, details.open));
      node.append(details);
    }
    return node;
  }

  function taskState(t, run) {
    if (!t.valid) return "error";
    return run ? run.status : "";
  }

  // -- requests --------------------------------------------------------------------------------

  function requestStates(entry, runs) {
    if (!entry.tasks) return [entry.status === undefined ? "processing" : entry.status >= 400 ? "error" : "success"];
    return entry.tasks.map((t) => taskState(t, runs.get(String(t.taskUUID).toLowerCase())));
  }

  function hasErrors(entry, runs, deliveries) {
    if (entry.status >= 400) return true;
    return (entry.tasks || []).some((t) => {
      if (!t.valid) return true;
      const run = runs.get(String(t.taskUUID).toLowerCase());
      const failed = (deliveries.get(String(t.taskUUID)) || []).some((a) => a.outcome !== "delivered");
      return (run && run.status === "error") || failed;
    });
  }

  function requestView(entry, runs, deliveries, used) {
    const status = entry.status;
    const kind = status === undefined ? "busy" : status >= 500 ? "err" : status >= 400 ? "warn" : "ok";
    const count = entry.tasks ? entry.tasks.length : 0;
    const node = el(
      "article",
      "request",
      el(
        "header",
        null,
        el("span", "rid", `#${entry.id}`),
        " ",
        el("span", "muted", time(entry.at)),
        " ",
        badge(String(entry.transport || "rest"), "kind"),
        " ",
        badge(status === undefined ? "in flight" : `HTTP ${status}`, `status ${kind}`),
        " ",
        el("span", "muted", `${count} task${count === 1 ? "" : "s"} · ${entry.bodyBytes ?? "?"} bytes`),
      ),
    );
    if (!entry.tasks) {
      const errors = (entry.response && entry.response.errors) || [];
      if (errors.length) {
        node.append(
          el(
            "ul",
            "errors",
            errors.map((e) => el("li", null, badge(String(e.code), "err"), " ", String(e.message ?? ""))),
          ),
        );
      }
      return node;
    }
    const bodies = Array.isArray(entry.body) ? entry.body : [];
    for (const t of entry.tasks) node.append(taskView(entry, t, bodies[t.index], runs, deliveries, used));
    return node;
  }

  function render() {
    renderFaults(data.config);
    const runs = new Map(data.tasks.map((r) => [String(r.taskUUID).toLowerCase(), r]));
    const deliveries = new Map();
    for (const a of data.deliveries) {
      if (!deliveries.has(a.taskUUID)) deliveries.set(a.taskUUID, []);
      deliveries.get(a.taskUUID).push(a);
    }
    const wantUuid = $("filter-uuid").value.trim().toLowerCase();
    const wantStatus = $("filter-status").value;
    const errorsOnly = $("filter-errors").checked;

    const shown = [];
    for (let i = data.requests.length - 1; i >= 0 && shown.length < MAX_REQUESTS; i--) {
      const entry = data.requests[i];
      if (wantUuid && !(entry.tasks || []).some((t) => String(t.taskUUID).toLowerCase().includes(wantUuid))) continue;
      if (wantStatus && !requestStates(entry, runs).includes(wantStatus)) continue;
      if (errorsOnly && !hasErrors(entry, runs, deliveries)) continue;
      shown.push(entry);
    }

    const used = new Map();
    const journal = $("journal");
    if (!shown.length) {
      const filtered = wantUuid || wantStatus || errorsOnly;
      journal.replaceChildren(
        el(
          "p",
          "empty",
          data.requests.length && filtered
            ? "No request matches the filters."
            : "No requests yet. Send one to POST /v1 and it appears here.",
        ),
      );
    } else {
      journal.replaceChildren(...shown.map((entry) => requestView(entry, runs, deliveries, used)));
    }
    thumbs = used;

    const counts = { processing: 0, success: 0, error: 0 };
    for (const r of data.tasks) counts[r.status] = (counts[r.status] || 0) + 1;
    $("summary").textContent =
      `${data.requests.length} requests · ${data.tasks.length} tasks (${counts.processing} processing, ` +
      `${counts.success} success, ${counts.error} error) · ${data.deliveries.length} delivery attempts` +
      (shown.length < data.requests.length ? ` · showing ${shown.length}` : "");
  }

  // -- wiring ----------------------------------------------------------------------------------

  $("reset").addEventListener("click", reset);
  for (const id of ["filter-uuid", "filter-status", "filter-errors"]) {
    $(id).addEventListener("input", () => loaded && render());
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) poll();
  });
  poll();
})();
