package ginusers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/openapi"
)

// specValidator checks request/response pairs against an OpenAPI 3.1
// document with kin-openapi: every answer must be documented (its status,
// its headers, its body's schema), and every request the server accepted
// (a 2xx) must be one the document accepts.
type specValidator struct {
	router routers.Router
	opts   *openapi3filter.Options
}

// newSpecValidator builds the document of routes, mounted for m, checks it
// is a valid OpenAPI 3.1 document, and returns its validator.
func newSpecValidator(t testing.TB, m *ginusers.Manager[Fields], routes []ginusers.Route) *specValidator {
	t.Helper()
	doc, err := openapi.Document(m, openapi.Info{Title: "ginusers tests", Version: "test"}, routes...)
	if err != nil {
		t.Fatalf("openapi.Document() error = %v", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("marshal the document: %v", err)
	}
	return loadSpec(t, b)
}

// loadSpec loads and lints a document, as a standard validator does.
func loadSpec(t testing.TB, spec []byte) *specValidator {
	t.Helper()
	loaded, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if !loaded.IsOpenAPI31OrLater() {
		t.Fatalf("the document is OpenAPI %q, want 3.1", loaded.OpenAPI)
	}
	if err := loaded.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	router, err := gorillamux.NewRouter(loaded)
	if err != nil {
		t.Fatalf("route the OpenAPI document: %v", err)
	}
	return &specValidator{router: router, opts: &openapi3filter.Options{
		// Security is the API's own tests' business; here the validator
		// only needs not to fail for want of an authenticator.
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, // an undocumented status is an error
		MultiError:            true,
		SkipSettingDefaults:   true,
	}}
}

// check validates one exchange.
func (v *specValidator) check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	r.ContentLength = int64(len(reqBody))
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		// The engine's own answers for what no operation serves.
		var rerr *routers.RouteError
		if errors.As(err, &rerr) && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
			return nil
		}
		return fmt.Errorf("%s %s answered %d: no operation: %w", req.Method, req.URL.Path, status, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.opts}
	if status >= 200 && status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return fmt.Errorf("%s %s answered %d to a request the document refuses: %w", req.Method, req.URL.Path, status, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: v.opts}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s %s: %d %s: %w", req.Method, req.URL.Path, status, respBody, err)
	}
	// kin-openapi does not refuse a body where the document has none (204).
	if resp := route.Operation.Responses.Status(status); resp != nil && len(resp.Value.Content) == 0 && len(respBody) != 0 {
		return fmt.Errorf("%s %s: %d has no body in the document, but the answer has %q", req.Method, req.URL.Path, status, respBody)
	}
	return nil
}
