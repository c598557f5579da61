package ginusers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/mongostore/mongotest"
	"github.com/ginusers/kit/redisstore/redistest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	code := m.Run()
	mongotest.Shutdown()
	redistest.Shutdown()
	os.Exit(code)
}

// Fields is the application field type of the tests.
type Fields struct {
	FirstName *string `json:"first_name" bson:"first_name,omitempty" binding:"omitempty,max=100"`
	LastName  *string `json:"last_name" bson:"last_name,omitempty" binding:"omitempty,max=100"`
	Age       int     `json:"age" bson:"age" binding:"gte=0"`
}

type User = ginusers.User[Fields]

var discardLogger = slog.New(slog.DiscardHandler)

var testSecret = []byte("a test secret that is long enough for HS256!")

// app is a router wired to a manager on a fresh database.
type app struct {
	t      *testing.T
	engine *gin.Engine
	m      *ginusers.Manager[Fields]
	store  *mongostore.Store[Fields]
	coll   *mongo.Collection
	hasher *storetest.CountingHasher
	now    time.Time
	tokens ginusers.AccessTokenStore // the database backends' store (multiApp)
	// backends are the backends given to the manager; backends[0] is the
	// bearer JWT backend named "jwt", signed with testSecret.
	backends []*ginusers.Backend
	// spec checks every exchange with engine against the OpenAPI document
	// of what mount mounted; specFor is the engine it was made for (a test
	// that builds an engine of its own is not checked).
	spec    *specValidator
	specFor *gin.Engine
	routes  []ginusers.Route // the routes mount mounted, documented
	// plain are the paths of the plain Gin handlers a test added, which
	// no document describes.
	plain map[string]bool
}

// newApp builds the full example layout on a fresh database of the embedded
// FerretDB (or MONGODB_URI). extra options come after the defaults.
func newApp(t *testing.T, extra ...ginusers.Option) *app {
	t.Helper()
	a := &app{t: t, hasher: storetest.NewCountingHasher(), now: time.Now()}
	a.coll = mongotest.Database(t).Collection("users")
	a.store = mongostore.New[Fields](a.coll)
	if err := a.store.EnsureIndexes(t.Context()); err != nil {
		t.Fatalf("EnsureIndexes() error = %v", err)
	}
	jwtS, err := ginusers.NewJWTStrategy(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	a.backends = []*ginusers.Backend{ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), jwtS)}
	opts := append([]ginusers.Option{
		ginusers.WithSecret(testSecret),
		ginusers.WithBackends(a.backends...),
		ginusers.WithPasswordHasher(a.hasher),
		ginusers.WithLogger(discardLogger),
		ginusers.WithClock(func() time.Time { return a.now }),
	}, extra...)
	m, err := ginusers.New[Fields](a.store, opts...)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	a.mount(m)
	return a
}

// mount serves the full example layout of m on a new engine, as the
// example does.
func (a *app) mount(m *ginusers.Manager[Fields]) {
	a.m = m
	a.engine = gin.New()
	ginusers.ConfigureEngine(a.engine)
	routes := ginusers.Routes(a.engine, m)
	// The example's own route, documented with the same helpers.
	routes = append(routes, ginusers.Mount(a.engine, m, ginusers.Route{
		Name: "authenticated_route", Method: http.MethodGet, Path: "/authenticated-route", Tag: "example",
		Summary: "Greet the current user", Auth: &ginusers.Auth{},
		Success: http.StatusOK, Response: &ginusers.Body{Type: reflect.TypeFor[greeting]()},
		Handle: func(c *gin.Context) error {
			u, _ := m.CurrentUser(c)
			c.JSON(http.StatusOK, greeting{Message: fmt.Sprintf("Hello %s!", u.Email)})
			return nil
		},
	})...)
	a.routes = routes
	a.spec, a.specFor = newSpecValidator(a.t, m, routes), a.engine
}

// document adds routes (mounted on a.engine) to the OpenAPI document the
// exchanges are checked against.
func (a *app) document(routes ...ginusers.Route) {
	a.t.Helper()
	a.routes = append(a.routes, routes...)
	a.spec = newSpecValidator(a.t, a.m, a.routes)
}

// plainGET mounts a plain Gin handler (no ginusers Route) that no document
// describes; its exchanges are not checked.
func (a *app) plainGET(path string, handlers ...gin.HandlerFunc) {
	a.undocumented(path)
	a.engine.GET(path, handlers...)
}

// undocumented marks paths a test mounted that no document describes;
// their exchanges are not checked.
func (a *app) undocumented(paths ...string) {
	if a.plain == nil {
		a.plain = map[string]bool{}
	}
	for _, p := range paths {
		a.plain[p] = true
	}
}

// greeting is the body of GET /authenticated-route.
type greeting struct {
	Message string `json:"message"`
}

// response is a recorded answer.
type response struct {
	Code   int
	Header http.Header
	Body   string
}

// JSON decodes the body into a generic value.
func (r response) JSON() any {
	var v any
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		return nil
	}
	return v
}

// Detail returns the "detail" of an error body.
func (r response) Detail() any {
	m, _ := r.JSON().(map[string]any)
	return m["detail"]
}

// Field returns a top-level field of a JSON object body.
func (r response) Field(name string) any {
	m, _ := r.JSON().(map[string]any)
	return m[name]
}

// req sends a request through the router. body may be a string (sent as
// is with contentType), url.Values (form) or anything else (JSON).
func (a *app) req(method, path string, body any, headers ...string) response {
	a.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case []byte:
		rd, ct = strings.NewReader(string(b)), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatalf("marshal body: %v", err)
		}
		rd, ct = strings.NewReader(string(j)), "application/json"
	}
	r := httptest.NewRequestWithContext(a.t.Context(), method, path, rd)
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	var reqBody []byte
	if rd != nil {
		reqBody, _ = io.ReadAll(rd)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	w := httptest.NewRecorder()
	a.engine.ServeHTTP(w, r)
	a.checkSpec(r, reqBody, w)
	return response{Code: w.Code, Header: w.Header(), Body: w.Body.String()}
}

// checkSpec checks an exchange with a's engine against its OpenAPI document.
func (a *app) checkSpec(r *http.Request, reqBody []byte, w *httptest.ResponseRecorder) {
	a.t.Helper()
	if a.spec == nil || a.specFor != a.engine || a.plain[r.URL.Path] {
		return
	}
	if err := a.spec.check(r, reqBody, w.Code, w.Header(), w.Body.Bytes()); err != nil {
		a.t.Errorf("the answer is not what the OpenAPI document says: %v", err)
	}
}

// bearer returns the header pair for a token.
func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// register creates a user over HTTP and returns it.
func (a *app) register(email, password string) map[string]any {
	a.t.Helper()
	r := a.req("POST", "/auth/register", map[string]any{"email": email, "password": password})
	if r.Code != http.StatusCreated {
		a.t.Fatalf("POST /auth/register %s = %d %s, want 201", email, r.Code, r.Body)
	}
	return r.JSON().(map[string]any)
}

// login logs in over HTTP and returns the access token.
func (a *app) login(email, password string) string {
	a.t.Helper()
	r := a.req("POST", "/auth/jwt/login", url.Values{"username": {email}, "password": {password}})
	if r.Code != http.StatusOK {
		a.t.Fatalf("POST /auth/jwt/login %s = %d %s, want 200", email, r.Code, r.Body)
	}
	tok, _ := r.Field("access_token").(string)
	if tok == "" {
		a.t.Fatalf("login body %s has no access_token", r.Body)
	}
	return tok
}

// user creates a user directly through the manager with the given flags and
// returns it with a token.
func (a *app) user(email string, active, superuser, verified bool) (*User, string) {
	a.t.Helper()
	u, err := a.m.Create(a.t.Context(), ginusers.UserCreate[Fields]{Email: email, Password: "password123", Active: &active, Superuser: &superuser, Verified: &verified})
	if err != nil {
		a.t.Fatalf("Create(%s) error = %v", email, err)
	}
	tok, err := a.backends[0].Strategy().WriteToken(a.t.Context(), ginusers.TokenSubject{UserID: u.ID, Epoch: u.SessionEpoch})
	if err != nil {
		a.t.Fatalf("WriteToken() error = %v", err)
	}
	return u, tok
}

// stored reads a user from the store.
func (a *app) stored(id string) *User {
	a.t.Helper()
	u, err := a.store.Get(context.WithoutCancel(a.t.Context()), id)
	if err != nil {
		a.t.Fatalf("store.Get(%s) error = %v", id, err)
	}
	return u
}

// count returns the number of users stored.
func (a *app) count() int64 {
	a.t.Helper()
	n, err := a.coll.CountDocuments(a.t.Context(), bson.M{})
	if err != nil {
		a.t.Fatalf("CountDocuments() error = %v", err)
	}
	return n
}

// wantStatus fails unless r has the status.
func wantStatus(t *testing.T, r response, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status = %d, body %s; want %d", r.Code, r.Body, code)
	}
}

// wantDetail fails unless r has the status and {"detail": detail}.
func wantDetail(t *testing.T, r response, code int, detail string) {
	t.Helper()
	wantStatus(t, r, code)
	if d, _ := r.Detail().(string); d != detail {
		t.Fatalf("detail = %s; want %q", r.Body, detail)
	}
}

// want422 fails unless r is a 422 whose detail names a field with loc
// ["body", field] (field "" matches any).
func want422(t *testing.T, r response, field string) {
	t.Helper()
	wantStatus(t, r, http.StatusUnprocessableEntity)
	list, ok := r.Detail().([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("422 body = %s; want a detail list", r.Body)
	}
	for _, e := range list {
		m, _ := e.(map[string]any)
		loc, _ := m["loc"].([]any)
		if _, ok := m["type"].(string); !ok {
			t.Fatalf("422 entry %v has no type", m)
		}
		if _, ok := m["msg"].(string); !ok {
			t.Fatalf("422 entry %v has no msg", m)
		}
		if len(loc) == 0 || loc[0] != "body" {
			t.Fatalf("422 entry %v: loc must start with body", m)
		}
		if field == "" || len(loc) > 1 && loc[1] == field {
			return
		}
	}
	t.Fatalf("422 body = %s; want an entry for field %q", r.Body, field)
}

// wantCode fails unless r is 400 {"detail": {"code": code, "reason": reason}}.
func wantCode(t *testing.T, r response, code, reason string) {
	t.Helper()
	wantStatus(t, r, http.StatusBadRequest)
	d, _ := r.Detail().(map[string]any)
	if d["code"] != code || d["reason"] != reason {
		t.Fatalf("body = %s; want code %q reason %q", r.Body, code, reason)
	}
}

// waitDeliveries waits, at most ten seconds, until the tokens the routes
// queued for delivery have been handed to the hooks.
func (a *app) waitDeliveries() {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(a.t.Context(), 10*time.Second)
	defer cancel()
	if err := a.m.WaitDeliveries(ctx); err != nil {
		a.t.Fatalf("WaitDeliveries() error = %v", err)
	}
}
