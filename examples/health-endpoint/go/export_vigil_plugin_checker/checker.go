// Package export_vigil_plugin_checker is the Go version of Vigil's example health check: GET
// http://<target><path> and read the JSON body's `status` field ("ok" -> up, "degraded" ->
// degraded, anything else -> down; an HTTP status outside 2xx -> down). Identical in behaviour to
// the Rust, JavaScript, Python and C versions (examples/README.md).
//
// Built with Go >= 1.24 for GOOS=wasip1 (-buildmode=c-shared, go:wasmexport) against bindings
// from `wit-bindgen go` for the world `health-check-http` (examples/wit), which adds
// wasi:http/outgoing-handler to Vigil's world; the request goes through wasi:http.
package export_vigil_plugin_checker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	witTypes "go.bytecodealliance.org/pkg/wit/types"

	"wit_component/vigil_plugin_log"
	types "wit_component/vigil_plugin_types"
	http "wit_component/wasi_http_outgoing_handler"
	httpTypes "wit_component/wasi_http_types"
	"wit_component/wasi_io_streams"
)

const maxBody = 64 * 1024

type settings struct {
	authority, path, field string
}

// Set by Configure; one component instance serves one configured check.
var current *settings

type configResult = witTypes.Result[witTypes.Unit, types.ConfigError]
type checkResult = witTypes.Result[types.CheckResult, types.CheckError]

func invalid(key, reason string) configResult {
	return witTypes.Err[witTypes.Unit](types.MakeConfigErrorInvalidValue(types.FieldError{Key: key, Reason: reason}))
}

func Configure(config string, target types.Target) configResult {
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(config))
	if err := dec.Decode(&doc); err != nil || doc == nil || dec.More() {
		return invalid("(config)", "expected a JSON object")
	}
	s := settings{path: "/health", field: "status"}
	for key, raw := range doc {
		switch key {
		case "path":
			if json.Unmarshal(raw, &s.path) != nil || !strings.HasPrefix(s.path, "/") {
				return invalid("path", "must be a string starting with '/'")
			}
		case "field":
			if json.Unmarshal(raw, &s.field) != nil || s.field == "" {
				return invalid("field", "must be a non-empty string")
			}
		default:
			return witTypes.Err[witTypes.Unit](types.MakeConfigErrorUnknownKey(key))
		}
	}
	if target.Host == "" {
		return witTypes.Err[witTypes.Unit](types.MakeConfigErrorInvalidTarget("empty host"))
	}
	host := target.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	s.authority = fmt.Sprintf("%s:%d", host, target.Port.SomeOr(80))
	current = &s
	return witTypes.Ok[witTypes.Unit, types.ConfigError](witTypes.Unit{})
}

func fail(e types.CheckError) checkResult { return witTypes.Err[types.CheckResult](e) }

func verdict(health types.Health, status uint16, format string, args ...any) checkResult {
	return witTypes.Ok[types.CheckResult, types.CheckError](types.CheckResult{
		Health:  health,
		Message: fmt.Sprintf(format, args...),
		Metrics: []types.Metric{{Name: "http_status", Value: float64(status)}},
	})
}

func Check() checkResult {
	s := current
	if s == nil {
		return fail(types.MakeCheckErrorInternal("check called before configure"))
	}
	status, body, cerr := get(s.authority, s.path)
	if cerr != nil {
		return fail(*cerr)
	}
	if status < 200 || status > 299 {
		return verdict(types.Health_Down, status, "HTTP %d", status)
	}
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return fail(types.MakeCheckErrorProtocol("body is not JSON"))
	}
	obj, _ := doc.(map[string]any)
	value, ok := obj[s.field].(string)
	if !ok {
		return fail(types.MakeCheckErrorProtocol(fmt.Sprintf("no string field %q in the body", s.field)))
	}
	vigil_plugin_log.Log(vigil_plugin_log.Level_Debug, fmt.Sprintf("http://%s%s: %s=%s", s.authority, s.path, s.field, value))
	switch value {
	case "ok":
		return verdict(types.Health_Up, status, "%s ok (HTTP %d)", s.field, status)
	case "degraded":
		return verdict(types.Health_Degraded, status, "%s degraded (HTTP %d)", s.field, status)
	default:
		return verdict(types.Health_Down, status, "%s is \"%s\" (HTTP %d)", s.field, value, status)
	}
}

// get performs GET http://authority/path through wasi:http and returns the status and, for a 2xx
// answer, the body. Resources are dropped children first, as WASI requires.
func get(authority, path string) (uint16, []byte, *types.CheckError) {
	request := httpTypes.MakeOutgoingRequest(httpTypes.MakeFields())
	request.SetMethod(httpTypes.MakeMethodGet())
	request.SetScheme(witTypes.Some(httpTypes.MakeSchemeHttp()))
	request.SetAuthority(witTypes.Some(authority))
	request.SetPathWithQuery(witTypes.Some(path))

	handled := http.Handle(request, witTypes.None[*httpTypes.RequestOptions]()) // takes the request
	if handled.IsErr() {
		return 0, nil, httpError(authority, handled.Err())
	}
	future := handled.Ok()
	ready := future.Subscribe()
	ready.Block()
	ready.Drop()
	got := future.Get()
	future.Drop()
	if got.IsNone() || got.Some().IsErr() {
		e := types.MakeCheckErrorInternal("response future not ready after block")
		return 0, nil, &e
	}
	inner := got.Some().Ok()
	if inner.IsErr() {
		return 0, nil, httpError(authority, inner.Err())
	}
	response := inner.Ok()
	defer response.Drop()
	status := response.Status()
	if status < 200 || status > 299 {
		return status, nil, nil
	}
	incoming := response.Consume().Ok()
	defer incoming.Drop()
	stream := incoming.Stream().Ok()
	defer stream.Drop() // deferred calls run last-in first-out: stream, body, response
	var buf bytes.Buffer
	for {
		chunk := stream.BlockingRead(16384)
		if chunk.IsErr() {
			if chunk.Err().Tag() == wasi_io_streams.StreamError_Closed {
				break
			}
			chunk.Err().LastOperationFailed().Drop()
			e := types.MakeCheckErrorIo(authority + ": reading the body failed")
			return 0, nil, &e
		}
		buf.Write(chunk.Ok())
		if buf.Len() > maxBody {
			e := types.MakeCheckErrorProtocol(fmt.Sprintf("body larger than %d bytes", maxBody))
			return 0, nil, &e
		}
	}
	return status, buf.Bytes(), nil
}

// httpError maps wasi:http's error-code onto Vigil's check-error.
func httpError(authority string, code httpTypes.ErrorCode) *types.CheckError {
	var e types.CheckError
	switch code.Tag() {
	case httpTypes.ErrorCode_ConnectionRefused:
		e = types.MakeCheckErrorConnectionRefused(authority + ": connection refused")
	case httpTypes.ErrorCode_DestinationIpProhibited, httpTypes.ErrorCode_HttpRequestDenied:
		e = types.MakeCheckErrorDenied(authority + ": not granted")
	case httpTypes.ErrorCode_DnsError, httpTypes.ErrorCode_DnsTimeout:
		e = types.MakeCheckErrorNameResolution(authority + ": name resolution failed")
	case httpTypes.ErrorCode_ConnectionTimeout:
		e = types.MakeCheckErrorTimeout()
	default:
		e = types.MakeCheckErrorIo(fmt.Sprintf("%s: HTTP request failed (wasi:http error-code %d)", authority, code.Tag()))
	}
	return &e
}
