package oauth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ginusers/kit/e2e/internal/e2etest"
	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/mongostore/mongotest"
	"github.com/ginusers/kit/oauth"
	"github.com/ginusers/kit/oauth/oidctest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(mongotest.Run(m))
}

// Fields are the application fields of the tests' users.
type Fields struct {
	Nickname *string `json:"nickname" bson:"nickname,omitempty"`
}

var (
	testSecret = []byte("a test secret that is long enough for HS256!")
	tokenKey   = []byte("0123456789abcdef0123456789abcdef")
	discard    = slog.New(slog.DiscardHandler)
)

// env is an app on a fresh database of the embedded FerretDB, served over
// TLS (so that the Secure cookies work as in production), with an
// in-process OpenID provider (zitadel's pkg/op) named "oidc".
type env struct {
	t      *testing.T
	ctx    context.Context
	op     *oidctest.Provider
	app    *httptest.Server
	engine *gin.Engine
	m      *ginusers.Manager[Fields]
	store  *mongostore.Store[Fields]
	coll   *mongo.Collection
	jwt    *ginusers.Backend
	cookie *ginusers.Backend
	routes []ginusers.Route
	doc    *spec // checks every answer of the app against its OpenAPI document

	mu         sync.Mutex
	clock      *e2etest.Clock
	registered []string // after-register hooks, by e-mail
	logins     []string
	updates    []ginusers.Changes
}

type envOption struct {
	oauth   []oauth.Option
	manager []ginusers.Option
	// mount mounts more routes with the provider before any request.
	mount func(e *env, p oauth.Provider) []ginusers.Route
}

// newEnv starts the provider and the app. Every test gets its own
// deadline: a hung request fails the test instead of the suite.
func newEnv(t *testing.T, eo envOption) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, clock: e2etest.NewClock(time.Now())}
	e.op = oidctest.Start(t)
	e.engine = gin.New()
	ginusers.ConfigureEngine(e.engine)
	e.app = httptest.NewUnstartedServer(e.engine)
	e.app.StartTLS()
	t.Cleanup(e.app.Close)

	e.coll = mongotest.Database(t).Collection("users")
	e.store = mongostore.New[Fields](e.coll)
	if err := e.store.EnsureIndexes(ctx); err != nil {
		t.Fatalf("EnsureIndexes() error = %v", err)
	}
	jwtS, err := ginusers.NewJWTStrategy(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	cookieT, err := ginusers.NewCookieTransport()
	if err != nil {
		t.Fatal(err)
	}
	cookieS, err := ginusers.NewJWTStrategy(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	e.jwt = ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), jwtS)
	e.cookie = ginusers.NewBackend("cookie", cookieT, cookieS)
	opts := append([]ginusers.Option{
		ginusers.WithSecret(testSecret),
		ginusers.WithBackends(e.jwt, e.cookie),
		ginusers.WithPasswordHasher(storetest.NewCountingHasher()),
		ginusers.WithLogger(discard),
		ginusers.WithOAuthTokenKey(tokenKey),
		ginusers.WithClock(e.clock.Now),
		ginusers.OnAfterRegister(func(_ context.Context, u *ginusers.User[Fields]) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.registered = append(e.registered, u.Email)
			return nil
		}),
		ginusers.OnAfterLogin(func(_ context.Context, u *ginusers.User[Fields], _ *http.Request, _ *ginusers.Response) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.logins = append(e.logins, u.Email)
			return nil
		}),
		ginusers.OnAfterUpdate(func(_ context.Context, _ *ginusers.User[Fields], ch ginusers.Changes) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.updates = append(e.updates, ch)
			return nil
		}),
	}, eo.manager...)
	if e.m, err = ginusers.New[Fields](e.store, opts...); err != nil {
		t.Fatalf("New() error = %v", err)
	}

	e.op.AddClient("app", "app-secret", []string{
		e.app.URL + "/auth/oidc/callback",
		e.app.URL + "/auth/oidc-cookie/callback",
		e.app.URL + "/auth/associate/oidc/callback",
	})
	p, err := oauth.DiscoverOIDC(ctx, "oidc", e.op.Issuer(), "app", "app-secret")
	if err != nil {
		t.Fatalf("DiscoverOIDC() error = %v", err)
	}
	base := append([]oauth.Option{oauth.WithBaseURL(e.app.URL)}, eo.oauth...)
	e.routes = ginusers.Routes(e.engine, e.m)
	login, err := oauth.Routes(e.engine.Group("/auth/oidc"), e.m, e.jwt, p, base...)
	if err != nil {
		t.Fatalf("oauth.Routes() error = %v", err)
	}
	cookieLogin, err := oauth.Routes(e.engine.Group("/auth/oidc-cookie"), e.m, e.cookie, p,
		append(base, oauth.WithRedirects("/account", e.app.URL+"/welcome"))...)
	if err != nil {
		t.Fatalf("oauth.Routes(cookie) error = %v", err)
	}
	assoc, err := oauth.AssociateRoutes(e.engine.Group("/auth/associate/oidc"), e.m, p, base...)
	if err != nil {
		t.Fatalf("oauth.AssociateRoutes() error = %v", err)
	}
	e.routes = append(append(append(e.routes, login...), cookieLogin...), assoc...)
	if eo.mount != nil {
		e.routes = append(e.routes, eo.mount(e, p)...)
	}
	e.doc = e.spec()
	return e
}

func (e *env) hooks() (registered, logins []string, updates []ginusers.Changes) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.registered...), append([]string(nil), e.logins...), append([]ginusers.Changes(nil), e.updates...)
}

// browser is a user agent with its own cookie jar, which does not follow
// redirects (the tests follow them step by step).
type browser struct {
	e      *env
	c      *http.Client
	bearer string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{
		Transport: e.app.Client().Transport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// answer is a response, read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d %s is not a JSON object: %v", a.status, a.body, err)
	}
	return m
}

func (a answer) detail() string {
	var m struct {
		Detail any `json:"detail"`
	}
	_ = json.Unmarshal(a.body, &m)
	s, _ := m.Detail.(string)
	return s
}

// get opens target (a path of the app, or a full URL) with the browser's
// cookies and, if set, its bearer token.
func (b *browser) get(target string) answer {
	b.e.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.e.app.URL + target
	}
	req, err := http.NewRequestWithContext(b.e.ctx, http.MethodGet, target, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if b.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+b.bearer)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: body}
	if strings.HasPrefix(target, b.e.app.URL+"/") {
		if err := b.e.doc.check(req, a); err != nil {
			b.e.t.Errorf("the answer is not the documented one: %v", err)
		}
	}
	return a
}

// authorize calls an authorize route and returns the provider URL.
func (b *browser) authorize(path string) string {
	b.e.t.Helper()
	a := b.get(path)
	if a.status != http.StatusOK {
		b.e.t.Fatalf("GET %s = %d %s, want 200", path, a.status, a.body)
	}
	u, _ := a.json(b.e.t)["authorization_url"].(string)
	if u == "" {
		b.e.t.Fatalf("GET %s = %s, want an authorization_url", path, a.body)
	}
	return u
}

// signIn signs in at the provider as subject and returns the callback URL
// the provider sends the browser to (not opened).
func (b *browser) signIn(authURL, subject string) *url.URL {
	b.e.t.Helper()
	u, err := b.e.op.SignIn(b.e.ctx, b.c, authURL, subject)
	if err != nil {
		b.e.t.Fatalf("signing in at the provider: %v", err)
	}
	if u.Query().Get("code") == "" {
		b.e.t.Fatalf("the provider redirected to %s, want a callback with a code", u)
	}
	return u
}

// flow runs authorize, provider sign-in and callback, and returns the
// callback's answer.
func (b *browser) flow(authorizePath, subject string) answer {
	b.e.t.Helper()
	return b.get(b.signIn(b.authorize(authorizePath), subject).String())
}

// login signs the browser in with a bearer token from the provider.
func (b *browser) login(subject string) string {
	b.e.t.Helper()
	a := b.flow("/auth/oidc/authorize", subject)
	if a.status != http.StatusOK {
		b.e.t.Fatalf("sign-in callback = %d %s, want 200", a.status, a.body)
	}
	b.bearer, _ = a.json(b.e.t)["access_token"].(string)
	return b.bearer
}

// me returns GET /users/me.
func (b *browser) me() answer { b.e.t.Helper(); return b.get("/users/me") }

// cookie returns the browser's cookie of that name for the app, or "".
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.app.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (e *env) addUser(sub, email string, verified bool) {
	e.op.AddUser(oidctest.User{Subject: sub, Email: email, EmailVerified: verified})
}

// passwordUser creates a user with a password and returns a browser
// signed in with a bearer token.
func (e *env) passwordUser(email string, verified bool) (*ginusers.User[Fields], *browser) {
	e.t.Helper()
	u, err := e.m.Create(e.ctx, ginusers.UserCreate[Fields]{Email: email, Password: "correct horse battery", Verified: &verified})
	if err != nil {
		e.t.Fatalf("Create(%q) error = %v", email, err)
	}
	b := e.browser()
	req := httptest.NewRequest(http.MethodPost, "/auth/jwt/login", nil)
	_, resp, err := e.m.Login(e.ctx, e.jwt, req, email, "correct horse battery")
	if err != nil {
		e.t.Fatalf("Login(%q) error = %v", email, err)
	}
	raw, _ := json.Marshal(resp.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(raw, &tok)
	b.bearer = tok.AccessToken
	return u, b
}

func wantDetail(t *testing.T, what string, a answer, status int, detail string) {
	t.Helper()
	if a.status != status || a.detail() != detail {
		t.Fatalf("%s = %d %s, want %d {\"detail\": %q}", what, a.status, a.body, status, detail)
	}
}
