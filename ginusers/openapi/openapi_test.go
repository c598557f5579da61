package openapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/openapi"
	"github.com/ginusers/kit/ginusers/storetest"
)

// Fields are an application's own user fields.
type Fields struct {
	FirstName *string `json:"first_name" bson:"first_name,omitempty" binding:"omitempty,max=100"`
	Plan      string  `json:"plan" bson:"plan" binding:"required,oneof=free pro"`
	Nickname  string  `json:"nickname,omitempty" bson:"nickname"`
	// IsActive cannot shadow the flag ginusers writes.
	IsActive string `json:"is_active"`
}

var secret = []byte("a test secret that is long enough for HS256!")

func newManager(t *testing.T, opts ...ginusers.Option) *ginusers.Manager[Fields] {
	t.Helper()
	m, err := ginusers.New(storetest.NewMemStore[Fields](), append([]ginusers.Option{ginusers.WithSecret(secret)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// twoBackends is a Manager with a bearer JWT backend and a cookie backend.
func twoBackends(t *testing.T) (*ginusers.Manager[Fields], *ginusers.Backend, *ginusers.Backend) {
	t.Helper()
	jwt, err := ginusers.NewJWTStrategy(secret)
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := ginusers.NewCookieTransport(ginusers.WithCookieName("sid"))
	if err != nil {
		t.Fatal(err)
	}
	bearer := ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), jwt)
	jar := ginusers.NewBackend("cookie", cookie, jwt)
	return newManager(t, ginusers.WithBackends(bearer, jar)), bearer, jar
}

func document(t *testing.T, m *ginusers.Manager[Fields], routes []ginusers.Route) map[string]any {
	t.Helper()
	doc, err := openapi.Document(m, openapi.Info{Title: "T", Version: "1"}, routes...)
	if err != nil {
		t.Fatalf("Document() error = %v", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// at walks a JSON document by keys.
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is not an object", strings.Join(keys[:i], "."))
		}
		if v, ok = o[k]; !ok {
			t.Fatalf("%s is missing", strings.Join(keys[:i+1], "."))
		}
	}
	return v
}

func has(v any, keys ...string) bool {
	for _, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = o[k]; !ok {
			return false
		}
	}
	return true
}

func TestDocumentUserSchemas(t *testing.T) {
	m := newManager(t)
	doc := document(t, m, ginusers.Routes(gin.New(), m))
	schemas := at(t, doc, "components", "schemas")

	first := at(t, schemas, "UserRead", "properties", "first_name")
	if got := first.(map[string]any); !slices.Equal(toStrings(got["type"]), []string{"string", "null"}) || got["maxLength"] != 100.0 {
		t.Errorf("UserRead.first_name = %v, want a nullable string of at most 100", got)
	}
	if got := at(t, schemas, "UserCreate", "properties", "plan", "enum"); !slices.Equal(toStrings(got), []string{"free", "pro"}) {
		t.Errorf("UserCreate.plan.enum = %v", got)
	}
	if got := toStrings(at(t, schemas, "UserCreate", "required")); !slices.Equal(got, []string{"email", "password", "plan"}) {
		t.Errorf("UserCreate.required = %v, want email, password and the field tagged required", got)
	}
	// Read: written always unless omitempty.
	if got := toStrings(at(t, schemas, "UserRead", "required")); !slices.Equal(got, []string{"id", "email", "is_active", "is_superuser", "is_verified", "first_name", "plan"}) {
		t.Errorf("UserRead.required = %v", got)
	}
	// The application cannot redefine a field ginusers writes.
	if got := at(t, schemas, "UserRead", "properties", "is_active", "type"); got != "boolean" {
		t.Errorf("UserRead.is_active.type = %v, want boolean", got)
	}
	// No password on the way out, and none required to update.
	if has(schemas, "UserRead", "properties", "password") || has(schemas, "UserRead", "properties", "hashed_password") {
		t.Error("UserRead describes a password")
	}
	for _, s := range []string{"UserUpdate", "UserUpdateSelf"} {
		if has(schemas, s, "required") {
			t.Errorf("%s has required fields: %v", s, at(t, schemas, s, "required"))
		}
		if got := toStrings(at(t, schemas, s, "properties", "password", "type")); !slices.Equal(got, []string{"string", "null"}) {
			t.Errorf("%s.password.type = %v, want nullable", s, got)
		}
	}
	// Operations refer to them.
	for _, c := range []struct{ path, method, where, want string }{
		{"/users/me", "get", "response", "UserRead"},
		{"/auth/register", "post", "request", "UserCreate"},
		{"/users/me", "patch", "request", "UserUpdateSelf"},
		{"/users/{id}", "patch", "request", "UserUpdate"},
	} {
		op := at(t, doc, "paths", c.path, c.method)
		var got any
		if c.where == "request" {
			got = at(t, op, "requestBody", "content", "application/json", "schema", "$ref")
		} else {
			got = at(t, op, "responses", "200", "content", "application/json", "schema", "$ref")
		}
		if got != "#/components/schemas/"+c.want {
			t.Errorf("%s %s %s = %v, want %s", c.method, c.path, c.where, got, c.want)
		}
	}
}

func TestDocumentStatuses(t *testing.T) {
	m, _, _ := twoBackends(t)
	doc := document(t, m, ginusers.Routes(gin.New(), m))
	statuses := func(path, method string) []string {
		var out []string
		for s := range at(t, doc, "paths", path, method, "responses").(map[string]any) {
			out = append(out, s)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		path, method string
		want         []string
	}{
		{"/auth/jwt/login", "post", []string{"200", "400", "413", "422", "500", "503"}},
		{"/auth/jwt/logout", "post", []string{"204", "401", "403", "500", "503"}}, // 403: the cookie may authenticate it
		{"/auth/cookie/login", "post", []string{"204", "400", "403", "413", "422", "500", "503"}},
		{"/auth/register", "post", []string{"201", "400", "413", "422", "500", "503"}},
		{"/users/me", "get", []string{"200", "401", "403", "500", "503"}},
		{"/users/{id}", "get", []string{"200", "401", "403", "404", "500", "503"}},
		{"/users/{id}", "delete", []string{"204", "401", "403", "404", "500", "503"}},
		{"/users/{id}", "patch", []string{"200", "400", "401", "403", "404", "413", "422", "500", "503"}},
	} {
		if got := statuses(c.path, c.method); !slices.Equal(got, c.want) {
			t.Errorf("%s %s answers %v, want %v", c.method, c.path, got, c.want)
		}
	}
	// 204 has no body; 401 says WWW-Authenticate; 400 names its codes.
	if has(doc, "paths", "/users/{id}", "delete", "responses", "204", "content") {
		t.Error("DELETE /users/{id} 204 has a body")
	}
	if !has(doc, "paths", "/users/me", "get", "responses", "401", "headers", "WWW-Authenticate") {
		t.Error("401 does not document WWW-Authenticate")
	}
	examples := at(t, doc, "paths", "/auth/register", "post", "responses", "400", "content", "application/json", "examples").(map[string]any)
	for _, code := range []string{"REGISTER_USER_ALREADY_EXISTS", "REGISTER_INVALID_PASSWORD"} {
		if _, ok := examples[code]; !ok {
			t.Errorf("register's 400 does not document %s", code)
		}
	}
	if got := at(t, doc, "paths", "/auth/register", "post", "responses", "422", "content", "application/json", "schema", "$ref"); got != "#/components/schemas/HTTPValidationError" {
		t.Errorf("422 schema = %v", got)
	}
	if !has(doc, "paths", "/auth/cookie/login", "post", "responses", "204", "headers", "Set-Cookie") {
		t.Error("the cookie login does not document Set-Cookie")
	}
	// The login form is read urlencoded and multipart, as OAuth2's form.
	content := at(t, doc, "paths", "/auth/jwt/login", "post", "requestBody", "content").(map[string]any)
	for _, ct := range []string{"application/x-www-form-urlencoded", "multipart/form-data"} {
		if _, ok := content[ct]; !ok {
			t.Errorf("login does not accept %s", ct)
		}
	}
}

func TestDocumentSecuritySchemes(t *testing.T) {
	m, bearer, _ := twoBackends(t)
	r := gin.New()
	api := r.Group("/api/v1")
	routes := ginusers.Routes(api, m)
	// An application route that only the bearer backend authenticates.
	routes = append(routes, ginusers.Mount(api, m, ginusers.Route{
		Name: "app:report", Method: http.MethodGet, Path: "/report", Summary: "A report", Tag: "app",
		Auth:     &ginusers.Auth{Requirements: []ginusers.Requirement{ginusers.Verified}, Backends: []*ginusers.Backend{bearer}},
		Success:  http.StatusOK,
		Response: &ginusers.Body{Type: reflect.TypeFor[[]report]()},
		Handle:   func(c *gin.Context) error { c.JSON(http.StatusOK, []report{}); return nil },
	})...)
	doc := document(t, m, routes)

	schemes := at(t, doc, "components", "securitySchemes")
	if got := at(t, schemes, "jwt", "flows", "password", "tokenUrl"); got != "api/v1/auth/jwt/login" {
		t.Errorf("tokenUrl = %v, want the bearer login under the mount prefix, relative to the server", got)
	}
	if got := at(t, schemes, "jwt", "type"); got != "oauth2" {
		t.Errorf("jwt scheme type = %v", got)
	}
	cookie := at(t, schemes, "cookie").(map[string]any)
	if cookie["type"] != "apiKey" || cookie["in"] != "cookie" || cookie["name"] != "sid" {
		t.Errorf("cookie scheme = %v, want apiKey in cookie sid", cookie)
	}
	security := func(path, method string) []string {
		var out []string
		if !has(doc, "paths", path, method, "security") {
			return nil
		}
		for _, s := range at(t, doc, "paths", path, method, "security").([]any) {
			for name := range s.(map[string]any) {
				out = append(out, name)
			}
		}
		return out
	}
	if got := security("/api/v1/users/me", "get"); !slices.Equal(got, []string{"jwt", "cookie"}) {
		t.Errorf("/users/me security = %v, want either backend", got)
	}
	if got := security("/api/v1/report", "get"); !slices.Equal(got, []string{"jwt"}) {
		t.Errorf("/report security = %v, want the bearer backend only", got)
	}
	if got := security("/api/v1/auth/register", "post"); got != nil {
		t.Errorf("/auth/register security = %v, want none", got)
	}
	// Verified may forbid; the report's items are described.
	if !has(doc, "paths", "/api/v1/report", "get", "responses", "403") {
		t.Error("a route requiring a verified user does not document 403")
	}
	if got := at(t, doc, "paths", "/api/v1/report", "get", "responses", "200", "content", "application/json", "schema", "items", "properties", "total", "type"); got != "integer" {
		t.Errorf("report.total type = %v", got)
	}
}

type report struct {
	Total int `json:"total"`
}

// TestDocumentWhatIsMounted: the routers an application leaves out are not
// in the document, and a bearer backend without its login route is an http
// bearer scheme.
func TestDocumentWhatIsMounted(t *testing.T) {
	m := newManager(t)
	doc := document(t, m, ginusers.UsersRoutes(gin.New().Group("/people"), m))
	paths := at(t, doc, "paths").(map[string]any)
	var got []string
	for p := range paths {
		got = append(got, p)
	}
	slices.Sort(got)
	if want := []string{"/people/me", "/people/{id}"}; !slices.Equal(got, want) {
		t.Errorf("paths = %v, want %v", got, want)
	}
	if got := at(t, doc, "components", "securitySchemes", "jwt", "scheme"); got != "bearer" {
		t.Errorf("jwt scheme = %v, want http bearer when no login route is mounted", got)
	}
}

// TestDocumentOperationIDs: unique, stable, and usable as identifiers by a
// client generator.
func TestDocumentOperationIDs(t *testing.T) {
	m, _, _ := twoBackends(t)
	routes := ginusers.Routes(gin.New(), m)
	first, err := openapi.Document(m, openapi.Info{}, routes...)
	if err != nil {
		t.Fatal(err)
	}
	ident := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	seen := map[string]bool{}
	doc := document(t, m, routes)
	for path, item := range at(t, doc, "paths").(map[string]any) {
		for method, op := range item.(map[string]any) {
			id, _ := op.(map[string]any)["operationId"].(string)
			if !ident.MatchString(id) || seen[id] {
				t.Errorf("%s %s: operationId %q is not a unique identifier", method, path, id)
			}
			seen[id] = true
			for _, k := range []string{"summary", "tags"} {
				if _, ok := op.(map[string]any)[k]; !ok {
					t.Errorf("%s %s has no %s", method, path, k)
				}
			}
		}
	}
	if !seen["users_current_user"] || !seen["auth_jwt_login"] {
		t.Errorf("operation ids = %v", seen)
	}
	again, err := openapi.Document(m, openapi.Info{}, routes...)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Error("two documents of the same routes differ")
	}
	if got := at(t, doc, "openapi"); got != "3.1.0" {
		t.Errorf("openapi = %v", got)
	}
}

// TestDocumentRefusesUndocumentedRoutes: a route added to the table
// without documenting its answers fails.
func TestDocumentRefusesUndocumentedRoutes(t *testing.T) {
	m := newManager(t)
	ok := ginusers.Route{
		Name: "app:thing", Method: http.MethodGet, Path: "/thing", Summary: "A thing", Tag: "app",
		Success: http.StatusOK, Response: &ginusers.Body{Shape: ginusers.ShapeNull},
	}
	if _, err := openapi.Document(m, openapi.Info{}, ok); err != nil {
		t.Fatalf("a documented route: %v", err)
	}
	for name, edit := range map[string]func(*ginusers.Route){
		"no name":             func(r *ginusers.Route) { r.Name = "" },
		"no summary":          func(r *ginusers.Route) { r.Summary = "" },
		"no tag":              func(r *ginusers.Route) { r.Tag = "" },
		"no success status":   func(r *ginusers.Route) { r.Success = 0 },
		"a 4xx success":       func(r *ginusers.Route) { r.Success = http.StatusNotFound },
		"a 200 without body":  func(r *ginusers.Route) { r.Response = nil },
		"a 204 with a body":   func(r *ginusers.Route) { r.Success = http.StatusNoContent },
		"no method":           func(r *ginusers.Route) { r.Method = "" },
		"an error without 4x": func(r *ginusers.Route) { r.Errors = []ginusers.ErrorCase{{Code: "X"}} },
	} {
		r := ok
		edit(&r)
		if _, err := openapi.Document(m, openapi.Info{}, r); err == nil {
			t.Errorf("%s: Document() error = nil", name)
		}
	}
	twice := ok
	twice.Path = "/other"
	twice.Name = "app.thing" // the same operation id
	if _, err := openapi.Document(m, openapi.Info{}, ok, twice); err == nil {
		t.Error("two routes with one operation id: Document() error = nil")
	}
	samePath := ok
	samePath.Name = "app:thing2"
	if _, err := openapi.Document(m, openapi.Info{}, ok, samePath); err == nil {
		t.Error("one operation described twice: Document() error = nil")
	}
}

func TestHandler(t *testing.T) {
	m := newManager(t)
	doc, err := openapi.Document(m, openapi.Info{Title: "T"}, ginusers.Routes(gin.New(), m)...)
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.GET("/openapi.json", openapi.Handler(doc))
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json = %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || at(t, got, "info", "title") != "T" {
		t.Errorf("body = %.100s (%v)", w.Body.String(), err)
	}
}

func toStrings(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		for _, x := range v {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}
