"""Vigil example health check in Python.

GET http://<target><path> and read the JSON body's `status` field ("ok" -> up, "degraded" ->
degraded, anything else -> down; an HTTP status outside 2xx -> down). Identical in behaviour to
the Rust, JavaScript and C versions; see examples/README.md.

componentize-py builds it against the world `health-check-http` (examples/wit): Vigil's
`health-check` world plus wasi:http/outgoing-handler, whose generated bindings make the request.
(`socket`/`http.client` would need a `tcp` grant instead of `http`; wasi:http keeps all four
examples on the same capability.) Bindings for an IDE:
    componentize-py -d examples/wit -w health-check-http bindings <dir>
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import outgoing_handler, wasi_http_types as http
from wit_world.imports import streams
from wit_world.imports.log import Level, log
from wit_world.imports.vigil_plugin_types import (
    Capability,
    CheckError_ConnectionRefused,
    CheckError_Denied,
    CheckError_Internal,
    CheckError_Io,
    CheckError_NameResolution,
    CheckError_Protocol,
    CheckError_Timeout,
    CheckResult,
    ConfigError_InvalidTarget,
    ConfigError_InvalidValue,
    ConfigError_UnknownKey,
    FieldError,
    Health,
    Metric,
    PluginInfo,
    Target,
)

KEYS = ("path", "field")
MAX_BODY = 64 * 1024

# Set by configure; one component instance serves one configured check.
settings = None


def invalid(key, reason):
    return Err(ConfigError_InvalidValue(FieldError(key, reason)))


class Plugin(exports.Plugin):
    def info(self) -> PluginInfo:
        return PluginInfo(
            name="health-endpoint-python",
            version="0.1.0",
            description="GET a JSON health endpoint and map its status field to up/degraded/down",
            capabilities=[Capability.HTTP],
        )


class Checker(exports.Checker):
    def configure(self, config: str, target: Target) -> None:
        global settings
        try:
            doc = json.loads(config)
        except ValueError as e:
            raise invalid("(config)", f"not JSON: {e}")
        if not isinstance(doc, dict):
            raise invalid("(config)", "expected a JSON object")
        for key in doc:
            if key not in KEYS:
                raise Err(ConfigError_UnknownKey(key))
        path = doc.get("path", "/health")
        if not isinstance(path, str) or not path.startswith("/"):
            raise invalid("path", "must be a string starting with '/'")
        field = doc.get("field", "status")
        if not isinstance(field, str) or not field:
            raise invalid("field", "must be a non-empty string")
        if not target.host:
            raise Err(ConfigError_InvalidTarget("empty host"))
        host = f"[{target.host}]" if ":" in target.host else target.host
        port = target.port if target.port is not None else 80
        settings = {"authority": f"{host}:{port}", "path": path, "field": field}

    def check(self) -> CheckResult:
        if settings is None:
            raise Err(CheckError_Internal("check called before configure"))
        authority, path, field = settings["authority"], settings["path"], settings["field"]
        status, body = get(authority, path)
        metrics = [Metric("http_status", float(status))]
        if not 200 <= status <= 299:
            return CheckResult(Health.DOWN, f"HTTP {status}", metrics)
        try:
            doc = json.loads(body)
        except ValueError:
            raise Err(CheckError_Protocol("body is not JSON"))
        value = doc.get(field) if isinstance(doc, dict) else None
        if not isinstance(value, str):
            raise Err(CheckError_Protocol(f'no string field "{field}" in the body'))
        log(Level.DEBUG, f"http://{authority}{path}: {field}={value}")
        if value == "ok":
            return CheckResult(Health.UP, f"{field} ok (HTTP {status})", metrics)
        if value == "degraded":
            return CheckResult(Health.DEGRADED, f"{field} degraded (HTTP {status})", metrics)
        return CheckResult(Health.DOWN, f'{field} is "{value}" (HTTP {status})', metrics)


def get(authority: str, path: str):
    """GET http://authority/path through wasi:http; returns (status, body bytes).

    Resources are dropped explicitly (`with`), children before their parents, as WASI requires.
    """
    request = http.OutgoingRequest(http.Fields())
    request.set_method(http.Method_Get())
    request.set_scheme(http.Scheme_Http())
    request.set_authority(authority)
    request.set_path_with_query(path)
    try:
        future = outgoing_handler.handle(request, None)  # takes ownership of the request
    except Err as e:
        raise http_error(authority, e.value)
    with future:
        with future.subscribe() as ready:
            ready.block()
        outer = future.get()
    if outer is None or isinstance(outer, Err):
        raise Err(CheckError_Internal("response future not ready after block"))
    inner = outer.value
    if isinstance(inner, Err):
        raise http_error(authority, inner.value)
    with inner.value as response:
        status = response.status()
        if not 200 <= status <= 299:
            return status, b""
        with response.consume() as body:
            with body.stream() as stream:
                data = bytearray()
                while True:
                    try:
                        chunk = stream.blocking_read(16384)
                    except Err as e:
                        if isinstance(e.value, streams.StreamError_Closed):
                            break
                        raise Err(CheckError_Io(f"{authority}: reading the body failed"))
                    data += chunk
                    if len(data) > MAX_BODY:
                        raise Err(CheckError_Protocol(f"body larger than {MAX_BODY} bytes"))
    return status, bytes(data)


def http_error(authority: str, code) -> Err:
    """Maps wasi:http's error-code onto Vigil's check-error."""
    if isinstance(code, http.ErrorCode_ConnectionRefused):
        return Err(CheckError_ConnectionRefused(f"{authority}: connection refused"))
    if isinstance(code, (http.ErrorCode_DestinationIpProhibited, http.ErrorCode_HttpRequestDenied)):
        return Err(CheckError_Denied(f"{authority}: not granted"))
    if isinstance(code, (http.ErrorCode_DnsError, http.ErrorCode_DnsTimeout)):
        return Err(CheckError_NameResolution(f"{authority}: name resolution failed"))
    if isinstance(code, http.ErrorCode_ConnectionTimeout):
        return Err(CheckError_Timeout())
    return Err(CheckError_Io(f"{authority}: HTTP request failed ({type(code).__name__})"))
