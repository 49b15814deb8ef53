// Drives every network call of @prequel/react 1.1.0 against a Ferry server, the way a
// provider's web app would, and prints one JSON line per call:
//
//   {"call", "hook", "ok", "status", "http_status", "message", "request", "token", "data", "error"}
//
// `status`/`message` are the envelope's, `http_status` the HTTP code of the SDK's request (both
// read from the response the SDK received), `request` what the SDK sent, `token` how the SDK
// asked for its scoped token. Lines with "setup": true are steps the provider's backend does
// with its API key (not SDK calls). Exit code 1 when any line is not ok.
//
// Usage: node sdk_calls.mjs CONFIG.json      (or the environment variables below)
//   {"base_url": "http://127.0.0.1:8000",      FERRY_URL
//    "api_key": "sk_staging_…",                 FERRY_API_KEY
//    "recipient_id": "<uuid>",                  FERRY_RECIPIENT_ID
//    "app_origin": "http://localhost:3000",     FERRY_APP_ORIGIN
//    "destination": {…PreparedDestination…},   FERRY_DESTINATION (JSON)
//    "org_id": "<uuid>",                        FERRY_ORG_ID (optional; from GET / when absent)
//    "transfers": 2,                            FERRY_TRANSFERS (transfers run before listing)
//    "timeout_seconds": 60}                     FERRY_TIMEOUT_SECONDS (per call)

import { readFileSync } from "node:fs";

// The SDK is written for browsers. Two of its parts touch browser globals in Node:
// - pagination (useListTransfers) encodes and decodes cursors with window.btoa/window.atob;
// - useModels, useProducts, useDestinationVendors and useDestinationForm keep their results in
//   React state filled by effects, so they only work inside a rendered component. They are
//   rendered with react-dom's client renderer into a stand-in container (they render nothing),
//   which reads window.event while scheduling and window.HTMLIFrameElement while committing.
// Node 20 has btoa/atob/fetch/URL globally, so `window` is the global object itself, plus an
// HTMLIFrameElement class nothing is an instance of. No document exists, so react-dom does not
// believe it has a DOM. These globals must exist before react-dom and the SDK load, hence the
// dynamic imports below.
globalThis.window = globalThis;
globalThis.HTMLIFrameElement ??= class HTMLIFrameElement {};

const React = await import("react");
const { createRoot } = await import("react-dom/client");
const sdk = await import("@prequel/react");

const TERMINAL = new Set(["SUCCESS", "ERROR", "PARTIAL_FAILURE", "CANCELLED", "EXPIRED", "ORPHANED"]);
const API_VERSION = "2023-12-01";

// ---------------------------------------------------------------------------------------------
// Input

function loadConfig() {
  const path = process.argv[2];
  const file = path ? JSON.parse(readFileSync(path, "utf8")) : {};
  const env = process.env;
  const config = {
    base_url: file.base_url ?? env.FERRY_URL,
    api_key: file.api_key ?? env.FERRY_API_KEY,
    recipient_id: file.recipient_id ?? env.FERRY_RECIPIENT_ID,
    app_origin: file.app_origin ?? env.FERRY_APP_ORIGIN,
    destination: file.destination ?? (env.FERRY_DESTINATION ? JSON.parse(env.FERRY_DESTINATION) : undefined),
    org_id: file.org_id ?? env.FERRY_ORG_ID,
    transfers: Number(file.transfers ?? env.FERRY_TRANSFERS ?? 2),
    timeout_seconds: Number(file.timeout_seconds ?? env.FERRY_TIMEOUT_SECONDS ?? 60),
  };
  const missing = ["base_url", "api_key", "recipient_id", "app_origin", "destination"].filter((k) => !config[k]);
  if (missing.length) {
    console.error(`missing input: ${missing.join(", ")} (pass a JSON file or set the FERRY_* variables)`);
    process.exit(2);
  }
  config.base_url = config.base_url.replace(/\/+$/, "");
  return config;
}

const config = loadConfig();
const HOST = config.base_url;
const ORIGIN = config.app_origin;

// ---------------------------------------------------------------------------------------------
// Observing the SDK's traffic: every fetch the SDK makes is recorded with the response it got.
// The scoped-token requests below use the unwrapped fetch, so they never mix with SDK traffic.

const realFetch = globalThis.fetch;
let journal = [];
let inFlight = 0;

function headerObject(headers) {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return { ...headers };
}

globalThis.fetch = async (input, init = {}) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  let body;
  if (typeof init.body === "string") {
    try {
      body = JSON.parse(init.body);
    } catch {
      body = init.body;
    }
  }
  const entry = { method: (init.method ?? "GET").toUpperCase(), url, headers: headerObject(init.headers), body };
  journal.push(entry);
  inFlight += 1;
  try {
    const response = await realFetch(input, init);
    entry.http_status = response.status;
    entry.text = await response.clone().text();
    try {
      entry.json = JSON.parse(entry.text);
    } catch {
      entry.json = undefined;
    }
    return response;
  } catch (error) {
    entry.error = String(error?.cause ?? error);
    throw error;
  } finally {
    inFlight -= 1;
  }
};

// What the SDK sent may hold credentials (the destination's password): printed redacted.
const SECRET_KEYS = new Set([
  "password",
  "secret_key",
  "secret",
  "access_token",
  "shared_access_signature_token",
  "service_account_key",
  "private_key",
]);

function redacted(value) {
  if (Array.isArray(value)) return value.map(redacted);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.has(k) && v ? "<redacted>" : redacted(v)]));
}

function describeRequest(entry) {
  if (!entry) return null;
  const url = new URL(entry.url);
  const headers = {};
  for (const [name, value] of Object.entries(entry.headers)) {
    headers[name] = name.toLowerCase() === "authorization" ? redactBearer(value) : value;
  }
  return {
    method: entry.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams.entries()),
    headers,
    body: redacted(entry.body),
  };
}

function redactBearer(value) {
  const [scheme, token] = String(value).split(" ");
  if (!token || token === "undefined" || token === "null") return `${scheme} ${token}`;
  return `${scheme} <${token.length} chars>`;
}

// ---------------------------------------------------------------------------------------------
// The provider's backend: mints a scoped token with the API key for whatever the SDK asks.

let tokenLog = [];

async function fetchToken(destination) {
  const request = { recipient_id: config.recipient_id, application_origin: ORIGIN };
  if (destination !== undefined) request.destination = destination;
  const record = {
    argument: destination === undefined ? null : Object.keys(destination).sort(),
  };
  tokenLog.push(record);
  let response;
  let text;
  try {
    response = await realFetch(`${HOST}/actions/generate-scoped-auth-token`, {
      method: "POST",
      headers: { "X-API-KEY": config.api_key, "Content-Type": "application/json", "X-Prequel-Api-Version": API_VERSION },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(config.timeout_seconds * 1000),
    });
    text = await response.text();
  } catch (error) {
    record.error = String(error?.cause ?? error);
    throw new Error(`scoped token request failed: ${record.error}`);
  }
  record.http_status = response.status;
  let envelope;
  try {
    envelope = JSON.parse(text);
  } catch {
    record.error = `not JSON: ${text.slice(0, 200)}`;
    throw new Error(`scoped token: HTTP ${response.status}, ${record.error}`);
  }
  record.status = envelope?.status;
  const token = envelope?.data?.scoped_token;
  if (typeof token !== "string" || !token) {
    record.error = envelope?.message ?? "no data.scoped_token";
    throw new Error(`scoped token: HTTP ${response.status} ${envelope?.status}: ${record.error}`);
  }
  return token;
}

// ---------------------------------------------------------------------------------------------
// Direct API calls with the API key (the provider's backend; used for setup steps only).

async function api(method, path, payload) {
  const response = await realFetch(`${HOST}${path}`, {
    method,
    headers: { "X-API-KEY": config.api_key, "Content-Type": "application/json", "X-Prequel-Api-Version": API_VERSION },
    body: payload === undefined ? undefined : JSON.stringify(payload),
    signal: AbortSignal.timeout(config.timeout_seconds * 1000),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { http_status: response.status, json, text };
}

// ---------------------------------------------------------------------------------------------
// Rendering the hooks that need React: a component that renders nothing and reports the hook's
// return value on every render.

function standInContainer() {
  const noop = () => {};
  const ownerDocument = { nodeType: 9, addEventListener: noop, removeEventListener: noop };
  return { nodeType: 1, nodeName: "DIV", tagName: "DIV", ownerDocument, addEventListener: noop, removeEventListener: noop };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Renders `useHook()` until `done(value)` holds, or until the SDK's requests (at least
// `requests` of them, fewer if one already failed) have all answered and React has had time to
// apply them.
async function renderHook(useHook, { done = (v) => v !== undefined, requests = 1 } = {}) {
  const values = [];
  const renderErrors = [];
  const started = journal.length;
  function Probe() {
    values.push(useHook());
    return null;
  }
  const root = createRoot(standInContainer(), {
    onUncaughtError: (error) => renderErrors.push(shortError(error)),
    onCaughtError: (error) => renderErrors.push(shortError(error)),
    onRecoverableError: (error) => renderErrors.push(shortError(error)),
  });
  root.render(React.createElement(Probe));
  const deadline = Date.now() + config.timeout_seconds * 1000;
  let quietSince;
  while (Date.now() < deadline) {
    await sleep(20);
    const last = values.at(-1);
    if (values.length && done(last)) break;
    // A failed token request or response handler rejects instead of fetching.
    const failedEarly = (current?.unhandled.length ?? 0) > 0;
    const answered = (journal.length - started >= requests || failedEarly) && inFlight === 0;
    if (!answered) {
      quietSince = undefined;
      continue;
    }
    quietSince ??= Date.now();
    if (Date.now() - quietSince > 500) break;
  }
  root.unmount();
  const timedOut = Date.now() >= deadline;
  return { value: values.at(-1), renderErrors, timedOut };
}

// The hook's value, or why there is none.
function rendered({ value, renderErrors, timedOut }) {
  if (renderErrors.length) throw new Error(`render failed: ${renderErrors.join("; ")}`);
  if (timedOut && value === undefined) throw new Error(`no result after ${config.timeout_seconds}s`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// One call: run it, collect what the SDK sent and got, judge it, print one line.

let current = null;
const results = [];

function shortError(error) {
  if (!(error instanceof Error)) return String(error);
  const frame = (error.stack ?? "").split("\n").find((l) => l.trim().startsWith("at "));
  return `${error.name}: ${error.message}${frame ? ` (${frame.trim()})` : ""}`;
}

process.on("unhandledRejection", (reason) => {
  const text = shortError(reason);
  if (current) current.unhandled.push(text);
  else emit({ call: "unattributed", ok: false, error: `unhandled rejection: ${text}` });
});

function emit(line) {
  results.push(line);
  process.stdout.write(JSON.stringify(line) + "\n");
}

function withTimeout(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${config.timeout_seconds}s`)), config.timeout_seconds * 1000);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// `run` returns the SDK's value; `judge(value, entries)` returns {ok, data, error?} where
// entries are the SDK's requests during the call (the judge picks the one it reports on).
async function call(name, hook, run, judge) {
  journal = [];
  tokenLog = [];
  current = { unhandled: [] };
  let value;
  let thrown;
  try {
    value = await withTimeout(Promise.resolve().then(run), name);
  } catch (error) {
    thrown = error;
  }
  await sleep(10); // let stray rejections of this call surface before judging it
  const entries = journal;
  const line = { call: name, hook, ok: false };
  let verdict = { ok: false, data: null };
  if (!thrown) {
    try {
      verdict = judge(value, entries);
    } catch (error) {
      verdict = { ok: false, data: null, error: `unexpected result: ${error?.message ?? error}` };
    }
  }
  const reported = verdict.entry ?? entries.at(-1);
  line.ok = Boolean(verdict.ok) && !thrown && current.unhandled.length === 0;
  line.status = reported?.json?.status ?? null;
  line.http_status = reported?.http_status ?? null;
  line.message = reported?.json?.message ?? (reported && reported.json === undefined ? (reported.text ?? "").slice(0, 300) : null);
  line.request = describeRequest(reported);
  if (entries.length > 1) line.requests = entries.map((e) => `${e.method} ${new URL(e.url).pathname} → ${e.http_status ?? e.error}`);
  line.token = tokenLog.length ? tokenLog : null;
  line.data = verdict.data ?? null;
  const errors = [];
  if (thrown) errors.push(String(thrown?.message ?? thrown));
  if (verdict.error) errors.push(verdict.error);
  if (!verdict.ok && !verdict.error && !thrown && reported?.json?.status === "error") errors.push(reported.json.message);
  if (!verdict.ok && !verdict.error && !thrown && reported?.error) errors.push(reported.error);
  for (const text of current.unhandled) errors.push(`unhandled rejection: ${text}`);
  line.error = errors.length ? errors.join("; ") : null;
  current = null;
  emit(line);
  return { ok: line.ok, value };
}

function setup(name, ok, data, error) {
  emit({ call: `setup:${name}`, setup: true, ok, data: data ?? null, error: error ?? null });
}

// ---------------------------------------------------------------------------------------------
// Judges and summaries

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function envelopeOk(entry) {
  if (!entry) return "the SDK made no request";
  if (entry.error) return `request failed: ${entry.error}`;
  if (entry.json === undefined) return `HTTP ${entry.http_status}: response is not JSON`;
  if (entry.json.status !== "success") return entry.json.message ?? `envelope status ${JSON.stringify(entry.json.status)}`;
  return null;
}

// Judges a call whose SDK value is derived from one response (most of them).
function fromEnvelope(check) {
  return (value, entries) => {
    const entry = entries.at(-1);
    const problem = envelopeOk(entry);
    if (problem) return { ok: false, data: summarizeEnvelope(entry), error: problem, entry };
    const { ok, data, error } = check(value, entry.json);
    return { ok, data, error, entry };
  };
}

function summarizeEnvelope(entry) {
  if (!entry?.json) return null;
  return { data: entry.json.data ?? null };
}

function listSummary(items, pick) {
  return { count: items.length, items: items.map(pick) };
}

const pickDestination = (d) => ({ id: d.id, name: d.name, vendor: d.vendor, recipient_id: d.recipient_id });
const pickModel = (m) => ({
  model_name: m.model_name,
  keys: Object.keys(m).sort(),
  columns: Array.isArray(m.columns) ? m.columns.map((c) => ({ ...c })) : m.columns,
});
const pickTransfer = (t) => ({ id: t.id, status: t.status, destination_id: t.destination_id, keys: Object.keys(t).sort() });

function formSummary(form) {
  return form.map((section) => ({
    id: section.id,
    title: section.title,
    fields: section.fields.map((f) => ({ path: f.prepared_destination_path, form_element: f.form_element, const: f.const })),
  }));
}

function testResult(value, envelope) {
  // SDK type: APIResponse<{status: string}>; apps treat top-level "success" as a passed test.
  const data = envelope.data;
  if (isObject(data) && data.status !== undefined && data.status !== "success") {
    const reason = data.error?.message ?? data.message ?? envelope.message;
    return { ok: false, data, error: `connection test failed: ${reason}` };
  }
  return { ok: value?.status === "success", data };
}

// ---------------------------------------------------------------------------------------------
// The calls, in the order an app would make them.

const { DestinationType } = sdk;
const prepared = {
  type: DestinationType.PreparedDestination,
  recipient_id: config.recipient_id,
  ...config.destination,
};
const vendor = prepared.vendor;

let orgId = config.org_id;
if (!orgId) {
  const root = await api("GET", "/").catch((error) => ({ error }));
  orgId = root?.json?.data?.organization_id ?? "";
  const why = orgId ? null : `GET / did not name the organization: ${root?.text ?? root?.error}`;
  setup("organization_id", Boolean(orgId), { org_id: orgId || null }, why);
}

// Public calls (no credentials).
await call(
  "destination_vendors",
  "useDestinationVendors",
  async () => {
    const r = await renderHook(() => sdk.useDestinationVendors(HOST));
    return rendered(r);
  },
  fromEnvelope((value) => {
    if (!Array.isArray(value)) {
      return { ok: false, data: null, error: "useDestinationVendors returned no array (data must be the array itself)" };
    }
    return { ok: true, data: { count: value.length, keys: value.map((v) => v.key), first: value[0] ?? null } };
  }),
);

// The form is rendered for the flat destination an app edits (what prepareDestinationFromExisting
// makes of the given destination); prepareDestinationWithForm then turns the edited values
// into the nested destination the app would submit, which shows whether the form's tree
// yields the API's vendor-shaped object.
const flatDestination = sdk.prepareDestinationFromExisting({
  ...config.destination,
  type: DestinationType.ExistingDestination,
  recipient_id: config.recipient_id,
});

function formCall(name, destination, expectedRequests) {
  return call(
    name,
    "useDestinationForm",
    async () => {
      const r = await renderHook(() => sdk.useDestinationForm(destination, orgId, { host: HOST, vendorQuery: vendor }), {
        requests: expectedRequests,
      });
      return rendered(r);
    },
    (value, entries) => {
      const at = (path) => entries.find((e) => new URL(e.url).pathname === path);
      const formEntry = at("/public/forms/destination-vendors");
      const keyEntry = at("/actions/generate-ssh-key");
      if (name === "generate_ssh_key") {
        const problem = envelopeOk(keyEntry);
        if (problem) return { ok: false, data: summarizeEnvelope(keyEntry), error: problem, entry: keyEntry };
        const keys = keyEntry.json.data;
        const ok = isObject(keys) && typeof keys.public_key === "string" && typeof keys.public_key_pkcs8 === "string";
        const field = Array.isArray(value) ? value.flatMap((s) => s.fields).find((f) => f.name === "ssh_public_key") : undefined;
        return {
          ok,
          entry: keyEntry,
          data: {
            public_key: isObject(keys) ? keys.public_key ?? null : null,
            public_key_pkcs8: isObject(keys) ? keys.public_key_pkcs8 ?? null : null,
            form_rendered: Array.isArray(value),
            form_ssh_public_key_const: field ? field.const ?? null : null,
          },
          error: ok ? null : "data.public_key and data.public_key_pkcs8 must be strings",
        };
      }
      const problem = envelopeOk(formEntry);
      if (problem) return { ok: false, data: summarizeEnvelope(formEntry), error: problem, entry: formEntry };
      if (!Array.isArray(value)) {
        const error = "useDestinationForm produced no form (data.form and data.sections are needed)";
        return { ok: false, data: null, error, entry: formEntry };
      }
      const preparedFromForm = sdk.prepareDestinationWithForm(destination, value);
      return {
        ok: value.length > 0,
        entry: formEntry,
        data: { sections: formSummary(value), prepared_from_form: redacted(preparedFromForm) },
        error: value.length ? null : "the form has no visible field",
      };
    },
  );
}

await formCall("destination_form", flatDestination, 1);
// With an SSH tunnel and no key yet, the form asks the server for a new key pair.
await formCall("generate_ssh_key", { ...flatDestination, use_ssh_tunnel: true, ssh_public_key: "" }, 2);

// Catalogue reads with a scoped token.
await call(
  "products",
  "useProducts",
  async () => {
    const r = await renderHook(() => sdk.useProducts(fetchToken, ORIGIN, HOST));
    return rendered(r);
  },
  fromEnvelope((value) => {
    if (!Array.isArray(value)) return { ok: false, data: null, error: "useProducts returned no array (data.products)" };
    return { ok: true, data: listSummary(value, (p) => ({ product_name: p.product_name, models: p.models })) };
  }),
);

await call(
  "models",
  "useModels",
  async () => {
    const r = await renderHook(() => sdk.useModels(fetchToken, ORIGIN, HOST));
    return rendered(r);
  },
  fromEnvelope((value) => {
    if (!Array.isArray(value)) return { ok: false, data: null, error: "useModels returned no array (data.models)" };
    return { ok: true, data: listSummary(value, pickModel) };
  }),
);

await call(
  "models_for_recipient",
  "useGetModelsForRecipient",
  () => sdk.useGetModelsForRecipient(fetchToken, ORIGIN, HOST)(),
  fromEnvelope((value) => {
    if (!Array.isArray(value)) return { ok: false, data: null, error: "returned no array (data.models)" };
    return { ok: true, data: listSummary(value, pickModel) };
  }),
);

// A new destination: test it, create it.
await call(
  "test_connection",
  "useTestConnection",
  () => sdk.useTestConnection(fetchToken, ORIGIN, HOST)(prepared),
  fromEnvelope(testResult),
);

const created = await call(
  "create_destination",
  "useCreateDestination",
  () => sdk.useCreateDestination(fetchToken, ORIGIN, HOST)(prepared),
  fromEnvelope((value) => {
    const destination = value?.data?.destination;
    if (!isObject(destination) || !destination.id) return { ok: false, data: value?.data ?? null, error: "no data.destination.id" };
    return { ok: value.status === "success", data: { destination } };
  }),
);

let existing = created.ok ? created.value.data.destination : undefined;
if (!existing) {
  // The calls below need a saved destination; the provider's backend makes one.
  const made = await api("POST", "/destinations", { destination: (({ type, ...rest }) => rest)(prepared) });
  existing = made.json?.data?.destination;
  setup(
    "create_destination_with_api_key",
    Boolean(existing?.id),
    existing ? { id: existing.id } : made.json ?? made.text,
    existing ? null : `HTTP ${made.http_status}: ${made.json?.message ?? made.text}`,
  );
}

const listed = await call(
  "get_destinations",
  "useGetDestinations",
  () => sdk.useGetDestinations(fetchToken, ORIGIN, HOST)(),
  fromEnvelope((value) => {
    if (!Array.isArray(value)) return { ok: false, data: null, error: "returned no array (data.destinations)" };
    const data = listSummary(value, pickDestination);
    if (existing && !value.some((d) => d.id === existing.id)) {
      return { ok: false, data, error: `the recipient's destination ${existing.id} is not listed` };
    }
    return { ok: true, data };
  }),
);
// Apps edit what useGetDestinations gave them.
if (listed.ok && existing) existing = listed.value.find((d) => d.id === existing.id) ?? existing;

if (!existing?.id) {
  emit({ call: "remaining_calls", ok: false, error: "no destination to update, test, list transfers of or delete" });
  process.exit(1);
}

const renamed = { ...prepared, name: `${prepared.name} (renamed)` };
const updated = await call(
  "update_destination",
  "useUpdateDestination",
  () => sdk.useUpdateDestination(fetchToken, ORIGIN, HOST)(existing, renamed),
  fromEnvelope((value) => {
    const destination = value?.data?.destination;
    if (!isObject(destination)) return { ok: false, data: value?.data ?? null, error: "no data.destination" };
    if (destination.name !== renamed.name) {
      const error = `name is ${JSON.stringify(destination.name)}, expected ${JSON.stringify(renamed.name)}`;
      return { ok: false, data: { destination }, error };
    }
    return { ok: true, data: { destination } };
  }),
);
if (updated.ok) existing = updated.value.data.destination;

await call(
  "test_existing_connection",
  "useTestExistingConnection",
  () => sdk.useTestExistingConnection(fetchToken, ORIGIN, HOST)(existing, renamed),
  fromEnvelope(testResult),
);

// Transfers to list: the provider's backend runs a few (with the API key) and waits for them.
const finished = new Map();
for (let attempt = 0; finished.size < config.transfers && attempt < config.transfers * 3; attempt += 1) {
  const asked = await api("POST", `/destinations/${existing.id}/transfer`, {});
  const id = asked.json?.data?.transfer_id;
  if (!id) {
    setup("run_transfer", false, asked.json ?? asked.text, `HTTP ${asked.http_status}: ${asked.json?.message ?? asked.text}`);
    break;
  }
  const deadline = Date.now() + config.timeout_seconds * 1000;
  let transfer;
  while (Date.now() < deadline) {
    const got = await api("GET", `/transfers/${id}`);
    transfer = got.json?.data?.transfer;
    if (transfer && TERMINAL.has(transfer.status)) break;
    await sleep(250);
  }
  const done = transfer && TERMINAL.has(transfer.status);
  if (done) finished.set(id, transfer.status);
  setup(
    "run_transfer",
    Boolean(done),
    { transfer_id: id, status: transfer?.status ?? null, rows_transferred: transfer?.rows_transferred ?? null },
    done ? null : `transfer ${id} did not finish within ${config.timeout_seconds}s`,
  );
  if (!done) break;
}
const someStatus = [...finished.values()][0] ?? "SUCCESS";

await call(
  "get_transfers",
  "useGetTransfers",
  () => sdk.useGetTransfers(fetchToken, ORIGIN, HOST)(existing, { count: 10 }),
  fromEnvelope((value) => {
    if (!Array.isArray(value)) return { ok: false, data: null, error: "returned no array (data.transfers)" };
    return { ok: true, data: listSummary(value, pickTransfer) };
  }),
);

await call(
  "get_transfers_by_status",
  "useGetTransfers",
  () => sdk.useGetTransfers(fetchToken, ORIGIN, HOST)(existing, { count: 10, status: someStatus }),
  fromEnvelope((value) => {
    if (!Array.isArray(value)) return { ok: false, data: null, error: "returned no array (data.transfers)" };
    const data = { ...listSummary(value, pickTransfer), asked_status: someStatus };
    const stray = value.filter((t) => t.status !== someStatus);
    if (stray.length) return { ok: false, data, error: `status=${someStatus} also returned ${stray.map((t) => t.status).join(", ")}` };
    return { ok: true, data };
  }),
);

const listJudge = fromEnvelope((value) => {
  if (!isObject(value) || !Array.isArray(value.results)) {
    return { ok: false, data: null, error: "returned no results array (data.transfers)" };
  }
  return {
    ok: true,
    data: { ...listSummary(value.results, pickTransfer), hasNext: value.hasNext, cursor: value.cursor ?? null },
  };
});

await call("list_transfers", "useListTransfers", () => sdk.useListTransfers(fetchToken, ORIGIN, HOST)(existing), listJudge);

const firstPage = await call(
  "list_transfers_page",
  "useListTransfers",
  () => sdk.useListTransfers(fetchToken, ORIGIN, HOST)(existing, { pageSize: 1 }),
  listJudge,
);

await call(
  "list_transfers_next_page",
  "useListTransfers",
  async () => {
    const cursor = firstPage.value?.cursor;
    if (!cursor) {
      throw new Error(
        `the first page (page_size=1, ${finished.size} transfer(s) run) gave no cursor: ` +
          "has_next must be true and next_url must carry ?cursor=",
      );
    }
    return sdk.useListTransfers(fetchToken, ORIGIN, HOST)(existing, { pageSize: 1, cursor });
  },
  (value, entries) => {
    const verdict = listJudge(value, entries);
    const before = firstPage.value?.results?.[0]?.id;
    if (verdict.ok && before && value.results.some((t) => t.id === before)) {
      return { ...verdict, ok: false, error: `the next page repeats transfer ${before} from the first page` };
    }
    return verdict;
  },
);

await call(
  "delete_destination",
  "useDeleteDestination",
  () => sdk.useDeleteDestination(fetchToken, ORIGIN, HOST)(existing),
  fromEnvelope((value) => ({ ok: value?.status === "success", data: value?.data ?? null })),
);

const failed = results.filter((r) => !r.ok);
process.exitCode = failed.length ? 1 : 0;
