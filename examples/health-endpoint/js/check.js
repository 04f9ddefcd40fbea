// Vigil example health check in JavaScript: GET http://<target><path> and read the JSON body's
// `status` field ("ok" → up, "degraded" → degraded, anything else → down; an HTTP status outside
// 2xx → down). Identical in behaviour to the Rust, Python and C versions; see examples/README.md.
//
// Built by componentize-js (SpiderMonkey inside the component) with its `http` feature on, so
// fetch() goes out through wasi:http/outgoing-handler, which Vigil's host provides (to the granted
// authorities only). Exported functions may be async: componentize-js runs the event loop until
// the returned promise settles.
import { log } from "vigil:plugin/log@0.1.0";

const KEYS = ["path", "field"];
const MAX_BODY = 64 * 1024;

let settings = null;

function configError(tag, val) {
  // A thrown value becomes the `err` of the exported result.
  return { tag, val };
}

export const plugin = {
  info() {
    return {
      name: "health-endpoint-js",
      version: "0.1.0",
      description: "GET a JSON health endpoint and map its status field to up/degraded/down",
      capabilities: ["http"],
    };
  },
};

export const checker = {
  configure(configJson, target) {
    let config;
    try {
      config = JSON.parse(configJson);
    } catch (e) {
      throw configError("invalid-value", { key: "(config)", reason: `not JSON: ${e.message}` });
    }
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
      throw configError("invalid-value", { key: "(config)", reason: "expected a JSON object" });
    }
    for (const key of Object.keys(config)) {
      if (!KEYS.includes(key)) throw configError("unknown-key", key);
    }
    const path = config.path ?? "/health";
    if (typeof path !== "string" || !path.startsWith("/")) {
      throw configError("invalid-value", { key: "path", reason: "must be a string starting with '/'" });
    }
    const field = config.field ?? "status";
    if (typeof field !== "string" || field.length === 0) {
      throw configError("invalid-value", { key: "field", reason: "must be a non-empty string" });
    }
    if (target.host.length === 0) throw configError("invalid-target", "empty host");
    const host = target.host.includes(":") ? `[${target.host}]` : target.host;
    const port = target.port ?? 80;
    settings = { url: `http://${host}:${port}${path}`, field };
  },

  async check() {
    if (settings === null) {
      throw { tag: "internal", val: "check called before configure" };
    }
    let response;
    try {
      response = await fetch(settings.url);
    } catch (e) {
      // fetch() rejects with the same TypeError ("NetworkError when attempting to fetch
      // resource") for every transport failure and hides wasi:http's error-code, so refused,
      // not granted and unresolvable all become `io` here (the other languages tell them apart).
      throw { tag: "io", val: `${settings.url}: ${e && e.message ? e.message : e}` };
    }
    const metrics = [{ name: "http_status", value: response.status }];
    if (response.status < 200 || response.status > 299) {
      return { health: "down", message: `HTTP ${response.status}`, metrics };
    }
    const body = await response.text();
    if (body.length > MAX_BODY) {
      throw { tag: "protocol", val: `body larger than ${MAX_BODY} bytes` };
    }
    let doc;
    try {
      doc = JSON.parse(body);
    } catch (e) {
      throw { tag: "protocol", val: "body is not JSON" };
    }
    const status = doc !== null && typeof doc === "object" ? doc[settings.field] : undefined;
    if (typeof status !== "string") {
      throw { tag: "protocol", val: `no string field "${settings.field}" in the body` };
    }
    log("debug", `${settings.url}: ${settings.field}=${status}`);
    switch (status) {
      case "ok":
        return { health: "up", message: `${settings.field} ok (HTTP ${response.status})`, metrics };
      case "degraded":
        return { health: "degraded", message: `${settings.field} degraded (HTTP ${response.status})`, metrics };
      default:
        return { health: "down", message: `${settings.field} is "${status}" (HTTP ${response.status})`, metrics };
    }
  },
};
