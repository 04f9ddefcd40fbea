// Vigil example health check in C: GET http://<target><path> and read the JSON body's `status`
// field ("ok" -> up, "degraded" -> degraded, anything else -> down; an HTTP status outside 2xx ->
// down). Identical in behaviour to the Rust, JavaScript and Python versions (examples/README.md).
//
// Debian's wasi-libc (2022) has no sockets, so the request goes through wasi:http directly: the
// world `health-check-http` (examples/wit) adds wasi:http/outgoing-handler to Vigil's world, and
// `wit-bindgen c` generates the C API for both (health_check_http.h).
//
// Ownership rules of the generated bindings: exported functions own their arguments and free
// them; what they return must be malloc'd (the host frees it through cabi_post_*). Arguments
// passed to imports stay owned by the caller; results of imports are owned by the caller.
#include "health_check_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (64 * 1024)

typedef health_check_http_string_t wit_string;

// ---- a small JSON reader: enough to walk an object and read string values -------------------

typedef struct {
    const char *p, *end;
} json;

static void ws(json *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static void put_utf8(char *out, size_t *n, unsigned cp) {
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(json *j, unsigned *cp) {
    if (j->end - j->p < 4) return 0;
    *cp = 0;
    for (int i = 0; i < 4; i++) {
        char c = *j->p++;
        *cp <<= 4;
        if (c >= '0' && c <= '9') *cp |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') *cp |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') *cp |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    return 1;
}

// Parses a string at j->p into a malloc'd NUL-terminated buffer (NULL on error).
static char *json_string(json *j) {
    if (j->p >= j->end || *j->p != '"') return NULL;
    j->p++;
    char *out = malloc((size_t)(j->end - j->p) + 1);
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20) goto fail;
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        if (j->p >= j->end) goto fail;
        switch (*j->p++) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (!hex4(j, &cp)) goto fail;
            if (cp >= 0xD800 && cp < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                j->p += 2;
                if (!hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) goto fail;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(out, &n, cp);
            break;
        }
        default: goto fail;
        }
    }
    if (j->p >= j->end) goto fail;
    j->p++;
    out[n] = 0;
    return out;
fail:
    free(out);
    return NULL;
}

static int json_skip(json *j, int depth);

static int skip_container(json *j, char close, int depth) {
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == close) { j->p++; return 1; }
    for (;;) {
        if (close == '}') {
            char *k = json_string(j);
            if (!k) return 0;
            free(k);
            ws(j);
            if (j->p >= j->end || *j->p++ != ':') return 0;
        }
        if (!json_skip(j, depth + 1)) return 0;
        ws(j);
        if (j->p >= j->end) return 0;
        if (*j->p == ',') { j->p++; ws(j); continue; }
        if (*j->p == close) { j->p++; return 1; }
        return 0;
    }
}

// Skips one value (validating its syntax loosely). Returns 0 on malformed input.
static int json_skip(json *j, int depth) {
    ws(j);
    if (j->p >= j->end || depth > 64) return 0;
    char c = *j->p;
    if (c == '{') return skip_container(j, '}', depth);
    if (c == '[') return skip_container(j, ']', depth);
    if (c == '"') { char *s = json_string(j); free(s); return s != NULL; }
    const char *start = j->p;
    while (j->p < j->end && (strchr("+-.0123456789eE", *j->p) || (*j->p >= 'a' && *j->p <= 'z'))) j->p++;
    size_t n = (size_t)(j->p - start);
    if (n == 0) return 0;
    if ((n == 4 && !memcmp(start, "true", 4)) || (n == 5 && !memcmp(start, "false", 5)) ||
        (n == 4 && !memcmp(start, "null", 4)))
        return 1;
    return strchr("-0123456789", start[0]) != NULL;
}

// Calls member(key, j, ctx) for every member of the object at j->p, with j->p on the value;
// member must consume the value. Returns 0 on malformed JSON or when member returns 0.
typedef int (*member_fn)(const char *key, json *j, void *ctx);
static int json_object(json *j, member_fn member, void *ctx) {
    ws(j);
    if (j->p >= j->end || *j->p != '{') return 0;
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == '}') { j->p++; return 1; }
    for (;;) {
        char *key = json_string(j);
        if (!key) return 0;
        ws(j);
        if (j->p >= j->end || *j->p++ != ':') { free(key); return 0; }
        ws(j);
        int ok = member(key, j, ctx);
        free(key);
        if (!ok) return 0;
        ws(j);
        if (j->p >= j->end) return 0;
        if (*j->p == ',') { j->p++; ws(j); continue; }
        if (*j->p == '}') { j->p++; return 1; }
        return 0;
    }
}

// ---- plugin state -----------------------------------------------------------------------------

static char *g_authority;  // host:port, NULL until configure succeeds
static char *g_path;
static char *g_field;

static void log_msg(vigil_plugin_log_level_t level, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    wit_string s;
    health_check_http_string_set(&s, buf);
    vigil_plugin_log_log(level, &s);
}

void exports_vigil_plugin_plugin_info(exports_vigil_plugin_plugin_plugin_info_t *ret) {
    health_check_http_string_dup(&ret->name, "health-endpoint-c");
    health_check_http_string_dup(&ret->version, "0.1.0");
    health_check_http_string_dup(&ret->description,
                                 "GET a JSON health endpoint and map its status field to up/degraded/down");
    ret->capabilities.len = 1;
    ret->capabilities.ptr = malloc(sizeof(vigil_plugin_types_capability_t));
    ret->capabilities.ptr[0] = VIGIL_PLUGIN_TYPES_CAPABILITY_HTTP;
}

// ---- configure --------------------------------------------------------------------------------

typedef struct {
    char *path, *field;
    vigil_plugin_types_config_error_t *err;
} config_ctx;

static void invalid_value(vigil_plugin_types_config_error_t *err, const char *key, const char *reason) {
    err->tag = VIGIL_PLUGIN_TYPES_CONFIG_ERROR_INVALID_VALUE;
    health_check_http_string_dup(&err->val.invalid_value.key, key);
    health_check_http_string_dup(&err->val.invalid_value.reason, reason);
}

static int config_member(const char *key, json *j, void *vctx) {
    config_ctx *ctx = vctx;
    char **slot = !strcmp(key, "path") ? &ctx->path : !strcmp(key, "field") ? &ctx->field : NULL;
    if (!slot) {
        ctx->err->tag = VIGIL_PLUGIN_TYPES_CONFIG_ERROR_UNKNOWN_KEY;
        health_check_http_string_dup(&ctx->err->val.unknown_key, key);
        return 0;
    }
    char *value = json_string(j);
    if (!value) {
        if (slot == &ctx->path) invalid_value(ctx->err, "path", "must be a string starting with '/'");
        else invalid_value(ctx->err, "field", "must be a non-empty string");
        return 0;
    }
    free(*slot);
    *slot = value;
    return 1;
}

bool exports_vigil_plugin_checker_configure(wit_string *config, exports_vigil_plugin_checker_target_t *target,
                                            exports_vigil_plugin_checker_config_error_t *err) {
    config_ctx ctx = {NULL, NULL, err};
    bool ok = false;
    err->tag = 0xFF;  // "not set yet"
    json j = {(const char *)config->ptr, (const char *)config->ptr + config->len};
    if (!json_object(&j, config_member, &ctx) || (ws(&j), j.p != j.end)) {
        if (err->tag == 0xFF) invalid_value(err, "(config)", "expected a JSON object");
        goto out;
    }
    if (!ctx.path) ctx.path = strdup("/health");
    if (!ctx.field) ctx.field = strdup("status");
    if (ctx.path[0] != '/') {
        invalid_value(err, "path", "must be a string starting with '/'");
        goto out;
    }
    if (ctx.field[0] == 0) {
        invalid_value(err, "field", "must be a non-empty string");
        goto out;
    }
    if (target->host.len == 0) {
        err->tag = VIGIL_PLUGIN_TYPES_CONFIG_ERROR_INVALID_TARGET;
        health_check_http_string_dup(&err->val.invalid_target, "empty host");
        goto out;
    }
    unsigned port = target->port.is_some ? target->port.val : 80;
    int v6 = memchr(target->host.ptr, ':', target->host.len) != NULL;
    size_t cap = target->host.len + 16;
    free(g_authority);
    g_authority = malloc(cap);
    snprintf(g_authority, cap, v6 ? "[%.*s]:%u" : "%.*s:%u", (int)target->host.len, (const char *)target->host.ptr, port);
    free(g_path);
    free(g_field);
    g_path = ctx.path;
    g_field = ctx.field;
    ctx.path = ctx.field = NULL;
    ok = true;
out:
    free(ctx.path);
    free(ctx.field);
    health_check_http_string_free(config);
    exports_vigil_plugin_checker_target_free(target);
    return ok;
}

// ---- check ------------------------------------------------------------------------------------

static bool check_error(vigil_plugin_types_check_error_t *err, uint8_t tag, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    err->tag = tag;
    if (tag != VIGIL_PLUGIN_TYPES_CHECK_ERROR_TIMEOUT) health_check_http_string_dup(&err->val.io, buf);
    return false;
}

// Maps wasi:http's error-code onto Vigil's check-error.
static bool http_error(vigil_plugin_types_check_error_t *err, const wasi_http_types_error_code_t *code) {
    switch (code->tag) {
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_REFUSED:
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_CONNECTION_REFUSED, "%s: connection refused", g_authority);
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_IP_PROHIBITED:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_DENIED:
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_DENIED, "%s: not granted", g_authority);
    case WASI_HTTP_TYPES_ERROR_CODE_DNS_ERROR:
    case WASI_HTTP_TYPES_ERROR_CODE_DNS_TIMEOUT:
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_NAME_RESOLUTION, "%s: name resolution failed", g_authority);
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_TIMEOUT:
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_TIMEOUT, "");
    default:
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_IO, "%s: HTTP request failed (wasi:http error-code %u)",
                           g_authority, (unsigned)code->tag);
    }
}

typedef struct {
    char *value;
    int found;
} field_ctx;

static int body_member(const char *key, json *j, void *vctx) {
    field_ctx *ctx = vctx;
    if (!ctx->found && !strcmp(key, g_field)) {
        ctx->found = 1;
        if (j->p < j->end && *j->p == '"') return (ctx->value = json_string(j)) != NULL;
    }
    return json_skip(j, 1);
}

static void metric_and_message(exports_vigil_plugin_checker_check_result_t *ret, uint8_t health, unsigned status,
                               const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ret->health = health;
    health_check_http_string_dup(&ret->message, buf);
    ret->metrics.len = 1;
    ret->metrics.ptr = malloc(sizeof(vigil_plugin_types_metric_t));
    health_check_http_string_dup(&ret->metrics.ptr[0].name, "http_status");
    ret->metrics.ptr[0].value = status;
}

// Reads the whole body (at most MAX_BODY bytes) into a malloc'd buffer.
static bool read_body(wasi_http_types_own_incoming_response_t response, char **out, size_t *len,
                      vigil_plugin_types_check_error_t *err) {
    wasi_http_types_own_incoming_body_t body;
    if (!wasi_http_types_method_incoming_response_consume(wasi_http_types_borrow_incoming_response(response), &body))
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_INTERNAL, "response body already consumed");
    wasi_http_types_own_input_stream_t stream;
    if (!wasi_http_types_method_incoming_body_stream(wasi_http_types_borrow_incoming_body(body), &stream)) {
        wasi_http_types_incoming_body_drop_own(body);
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_INTERNAL, "body stream already taken");
    }
    char *buf = malloc(MAX_BODY + 1);
    size_t n = 0;
    bool ok = true;
    for (;;) {
        health_check_http_list_u8_t chunk;
        wasi_io_streams_stream_error_t serr;
        if (!wasi_io_streams_method_input_stream_blocking_read(wasi_io_streams_borrow_input_stream(stream), 16384,
                                                               &chunk, &serr)) {
            if (serr.tag != WASI_IO_STREAMS_STREAM_ERROR_CLOSED) {
                wasi_io_error_error_drop_own(serr.val.last_operation_failed);
                ok = check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_IO, "%s: reading the body failed", g_authority);
            }
            break;
        }
        if (n + chunk.len > MAX_BODY) {
            health_check_http_list_u8_free(&chunk);
            ok = check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_PROTOCOL, "body larger than %d bytes", MAX_BODY);
            break;
        }
        memcpy(buf + n, chunk.ptr, chunk.len);
        n += chunk.len;
        health_check_http_list_u8_free(&chunk);
    }
    // Children before parents: the stream belongs to the body.
    wasi_io_streams_input_stream_drop_own(stream);
    wasi_http_types_incoming_body_drop_own(body);
    if (!ok) {
        free(buf);
        return false;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return true;
}

bool exports_vigil_plugin_checker_check(exports_vigil_plugin_checker_check_result_t *ret,
                                        exports_vigil_plugin_checker_check_error_t *err) {
    if (!g_authority)
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_INTERNAL, "check called before configure");

    wasi_http_types_own_outgoing_request_t request =
        wasi_http_types_constructor_outgoing_request(wasi_http_types_constructor_fields());
    wasi_http_types_borrow_outgoing_request_t req = wasi_http_types_borrow_outgoing_request(request);
    wasi_http_types_method_t method = {.tag = WASI_HTTP_TYPES_METHOD_GET};
    wasi_http_types_scheme_t scheme = {.tag = WASI_HTTP_TYPES_SCHEME_HTTP};
    wit_string authority, path;
    health_check_http_string_set(&authority, g_authority);
    health_check_http_string_set(&path, g_path);
    if (!wasi_http_types_method_outgoing_request_set_method(req, &method) ||
        !wasi_http_types_method_outgoing_request_set_scheme(req, &scheme) ||
        !wasi_http_types_method_outgoing_request_set_authority(req, &authority) ||
        !wasi_http_types_method_outgoing_request_set_path_with_query(req, &path)) {
        wasi_http_types_outgoing_request_drop_own(request);
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_INTERNAL, "invalid request for %s%s", g_authority, g_path);
    }

    // `handle` takes ownership of the request.
    wasi_http_outgoing_handler_own_future_incoming_response_t future;
    wasi_http_outgoing_handler_error_code_t code;
    if (!wasi_http_outgoing_handler_handle(request, NULL, &future, &code)) return http_error(err, &code);

    wasi_http_types_own_pollable_t ready =
        wasi_http_types_method_future_incoming_response_subscribe(wasi_http_types_borrow_future_incoming_response(future));
    wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(ready));
    wasi_io_poll_pollable_drop_own(ready);

    wasi_http_types_result_result_own_incoming_response_error_code_void_t got;
    bool some = wasi_http_types_method_future_incoming_response_get(
        wasi_http_types_borrow_future_incoming_response(future), &got);
    wasi_http_types_future_incoming_response_drop_own(future);
    if (!some || got.is_err)
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_INTERNAL, "response future not ready after block");
    if (got.val.ok.is_err) return http_error(err, &got.val.ok.val.err);
    wasi_http_types_own_incoming_response_t response = got.val.ok.val.ok;

    unsigned status = wasi_http_types_method_incoming_response_status(wasi_http_types_borrow_incoming_response(response));
    if (status < 200 || status > 299) {
        wasi_http_types_incoming_response_drop_own(response);
        metric_and_message(ret, VIGIL_PLUGIN_TYPES_HEALTH_DOWN, status, "HTTP %u", status);
        return true;
    }
    char *body;
    size_t len;
    bool ok = read_body(response, &body, &len, err);
    wasi_http_types_incoming_response_drop_own(response);
    if (!ok) return false;

    field_ctx fctx = {NULL, 0};
    json j = {body, body + len};
    int parsed = json_object(&j, body_member, &fctx) && (ws(&j), j.p == j.end);
    free(body);
    if (!parsed) {
        free(fctx.value);
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_PROTOCOL, "body is not JSON");
    }
    if (!fctx.value)
        return check_error(err, VIGIL_PLUGIN_TYPES_CHECK_ERROR_PROTOCOL, "no string field \"%s\" in the body", g_field);

    log_msg(VIGIL_PLUGIN_LOG_LEVEL_DEBUG, "http://%s%s: %s=%s", g_authority, g_path, g_field, fctx.value);
    if (!strcmp(fctx.value, "ok"))
        metric_and_message(ret, VIGIL_PLUGIN_TYPES_HEALTH_UP, status, "%s ok (HTTP %u)", g_field, status);
    else if (!strcmp(fctx.value, "degraded"))
        metric_and_message(ret, VIGIL_PLUGIN_TYPES_HEALTH_DEGRADED, status, "%s degraded (HTTP %u)", g_field, status);
    else
        metric_and_message(ret, VIGIL_PLUGIN_TYPES_HEALTH_DOWN, status, "%s is \"%s\" (HTTP %u)", g_field, fctx.value,
                           status);
    free(fctx.value);
    return true;
}
