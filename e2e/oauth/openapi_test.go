package oauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ginusers/kit/ginusers/openapi"
)

// spec checks every answer of the app (its status, headers and body)
// against the OpenAPI document of the routes it mounted, with kin-openapi.
type spec struct {
	router routers.Router
	doc    openapi.Doc
}

func (e *env) spec() *spec {
	e.t.Helper()
	doc, err := openapi.Document(e.m, openapi.Info{Title: "oauth tests", Version: "test"}, e.routes...)
	if err != nil {
		e.t.Fatalf("openapi.Document() error = %v", err)
	}
	b, _ := json.Marshal(doc)
	loaded, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		e.t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := loaded.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		e.t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	router, err := gorillamux.NewRouter(loaded)
	if err != nil {
		e.t.Fatal(err)
	}
	return &spec{router: router, doc: doc}
}

// check validates one answer to req.
func (s *spec) check(req *http.Request, a answer) error {
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("GET %s answered %d: no operation: %w", req.URL.Path, a.status, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: a.status, Header: a.header, Options: opts}
	out.SetBodyBytes(a.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("GET %s: %d %s: %w", req.URL.Path, a.status, a.body, err)
	}
	return nil
}

// TestOpenAPI: the OAuth routes are in the document, with their query
// parameters, the contract's error codes, the redirect and the 502.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t, envOption{})
	b, _ := json.Marshal(e.spec().doc)
	doc := string(b)
	for _, want := range []string{
		`"/auth/oidc/authorize"`, `"/auth/oidc/callback"`, `"/auth/oidc-cookie/callback"`,
		`"/auth/associate/oidc/authorize"`, `"/auth/associate/oidc/callback"`,
		`"operationId":"oauth_oidc_jwt_authorize"`, `"operationId":"oauth_associate_oidc_callback"`,
		"ACCESS_TOKEN_DECODE_ERROR", "ACCESS_TOKEN_ALREADY_EXPIRED", "OAUTH_INVALID_STATE",
		"OAUTH_NOT_AVAILABLE_EMAIL", "OAUTH_USER_ALREADY_EXISTS", `"303"`, `"502"`,
		`"name":"scopes"`, `"name":"redirect"`, `"authorization_url"`, `"oauth_accounts"`,
	} {
		if !strings.Contains(doc, want) {
			t.Fatalf("the OpenAPI document lacks %s", want)
		}
	}
	if strings.Contains(doc, "access_token\":{") && strings.Contains(doc, "refresh_token") {
		t.Fatalf("the user schema documents provider tokens")
	}
}
