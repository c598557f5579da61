package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The example's tests check every exchange they make against the OpenAPI
// document the example serves at /openapi.json, with kin-openapi: every
// answer must be documented (its status, its headers, its body's schema),
// and every request the example accepted (a 2xx) must be one the document
// accepts. startExample loads the document of each example it starts, and
// the tests' clients ([apiClient], [specTransport]) check each exchange
// against the document of the example they talk to.

// specValidator checks exchanges against one OpenAPI 3.1 document.
type specValidator struct {
	router routers.Router
	opts   *openapi3filter.Options
}

// loadSpec loads and lints a served document, as a standard validator
// does, and returns its validator.
func loadSpec(t testing.TB, spec []byte) *specValidator {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("the document is OpenAPI %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("route the OpenAPI document: %v", err)
	}
	return &specValidator{router: router, opts: &openapi3filter.Options{
		// Security is the tests' own business; here the validator only
		// needs not to fail for want of an authenticator.
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, // an undocumented status is an error
		MultiError:            true,
		SkipSettingDefaults:   true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			// kin-openapi asserts no "email" format unless told to.
			openapi3.WithStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail)),
		},
	}}
}

// fetchSpec loads the document that the example at base serves.
func fetchSpec(t testing.TB, base string) *specValidator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/openapi.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d %.200s (%v)", resp.StatusCode, b, err)
	}
	return loadSpec(t, b)
}

// handlerSpec loads the document that h serves, for tests that call the
// engine without a server.
func handlerSpec(t testing.TB, h http.Handler) *specValidator {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d %.200s", w.Code, w.Body)
	}
	return loadSpec(t, w.Body.Bytes())
}

// notAPIPath reports why the example's answers on path are not described
// by its document, or "" when they should be: these routes are the
// example's own plumbing, not operations of the API.
func notAPIPath(path string) string {
	switch {
	case path == "/health":
		return "the health check"
	case path == "/openapi.json":
		return "the document itself"
	case path == "/docs" || strings.HasPrefix(path, "/docs/"):
		return "the interactive documentation"
	}
	return ""
}

// check validates one exchange. It returns why the exchange was not
// checked (a path or an answer that is not the API's), or an error when
// the document does not allow it.
func (v *specValidator) check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) (skipped string, err error) {
	if why := notAPIPath(req.URL.Path); why != "" {
		return why, nil
	}
	if status == http.StatusRequestHeaderFieldsTooLarge {
		// net/http answers it before any handler runs, to a request
		// whose headers exceed the server's MaxHeaderBytes.
		return "net/http's answer to headers over MaxHeaderBytes", nil
	}
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	r.ContentLength = int64(len(reqBody))
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		// The engine's own answers where no operation is.
		var rerr *routers.RouteError
		if errors.As(err, &rerr) && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
			return "no such operation: " + rerr.Error(), nil
		}
		return "", fmt.Errorf("%s %s answered %d: no operation: %w", req.Method, req.URL.Path, status, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.opts}
	if status >= 200 && status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return "", fmt.Errorf("%s %s answered %d to a request the document refuses: %w", req.Method, req.URL.Path, status, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: v.opts}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return "", fmt.Errorf("%s %s: %d %s: %w", req.Method, req.URL.Path, status, respBody, err)
	}
	// kin-openapi does not refuse a body where the document has none (204).
	if resp := route.Operation.Responses.Status(status); resp != nil && len(resp.Value.Content) == 0 && len(respBody) != 0 {
		return "", fmt.Errorf("%s %s: %d has no body in the document, but the answer has %q", req.Method, req.URL.Path, status, respBody)
	}
	return "", nil
}

// specs holds the document of every example started by the tests, by the
// host and port it listens on.
var specs struct {
	mu     sync.Mutex
	byHost map[string]*specValidator
}

// useSpec loads the document the example at base serves, so that the
// exchanges of [specTransport] with it are checked, and returns a function
// that forgets it (call it once the example has stopped).
func useSpec(t testing.TB, base string) (forget func()) {
	t.Helper()
	v := fetchSpec(t, base)
	host := strings.TrimPrefix(base, "http://")
	specs.mu.Lock()
	defer specs.mu.Unlock()
	if specs.byHost == nil {
		specs.byHost = map[string]*specValidator{}
	}
	specs.byHost[host] = v
	return func() {
		specs.mu.Lock()
		defer specs.mu.Unlock()
		if specs.byHost[host] == v {
			delete(specs.byHost, host)
		}
	}
}

func specFor(host string) *specValidator {
	specs.mu.Lock()
	defer specs.mu.Unlock()
	return specs.byHost[host]
}

// specTransport returns a transport that makes its requests with next
// and fails t for every exchange that the document of the example it
// talks to does not allow, or with a host that is not a started example.
func specTransport(t testing.TB, next http.RoundTripper) http.RoundTripper {
	return &checkingTransport{t: t, next: next}
}

type checkingTransport struct {
	t    testing.TB
	next http.RoundTripper
}

func (c *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
	}
	out := req.Clone(req.Context())
	out.Body = http.NoBody
	if reqBody != nil {
		out.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := c.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	v := specFor(req.URL.Host)
	if v == nil {
		c.t.Errorf("openapi: %s %s: %s is not an example started by the tests, so its document is unknown", req.Method, req.URL, req.URL.Host)
		return resp, nil
	}
	skipped, err := v.check(req, reqBody, resp.StatusCode, resp.Header, respBody)
	if err != nil {
		c.t.Errorf("openapi: %v", err)
	} else if skipped != "" {
		c.t.Logf("openapi: %s %s %d not checked: %s", req.Method, req.URL.Path, resp.StatusCode, skipped)
	}
	return resp, nil
}

// CloseIdleConnections closes the idle connections of the transport
// underneath, for [http.Client.CloseIdleConnections].
func (c *checkingTransport) CloseIdleConnections() {
	if ci, ok := c.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// apiClient is the client of the tests: [http.DefaultClient], with every
// exchange checked against the document of the example it talks to.
func apiClient(t testing.TB) *http.Client {
	return &http.Client{Transport: specTransport(t, http.DefaultTransport)}
}

// serveChecked serves r with the engine h, as a server would, and checks
// the exchange against the document h serves.
func serveChecked(t testing.TB, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	v := handlerSpec(t, h)
	var reqBody []byte
	if r.Body != nil {
		reqBody, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	if skipped, err := v.check(r, reqBody, w.Code, w.Header(), w.Body.Bytes()); err != nil {
		t.Errorf("openapi: %v", err)
	} else if skipped != "" {
		t.Logf("openapi: %s %s %d not checked: %s", r.Method, r.URL.Path, w.Code, skipped)
	}
	return w
}

// checkingProxy serves a reverse proxy to the example at base on a
// loopback port, checking every exchange that passes through it, for the
// clients of the tests that are not written in Go. It returns the proxy's
// base URL.
func checkingProxy(t *testing.T, base string) string {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(target)
	p.Transport = specTransport(t, http.DefaultTransport)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}
