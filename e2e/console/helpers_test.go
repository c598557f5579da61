package console_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ginusers/kit/e2e/internal/e2etest"
	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/console"
	"github.com/ginusers/kit/ginusers/storetest"
	"github.com/ginusers/kit/mongostore"
	"github.com/ginusers/kit/mongostore/mongotest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	code := m.Run()
	mongotest.Shutdown()
	os.Exit(code)
}

// Profile is the application field type of the tests: an optional
// string, a number with a range, a flag, and a time the form shows
// read-only.
type Profile struct {
	FirstName  *string    `json:"first_name" bson:"first_name,omitempty" binding:"omitempty,max=20"`
	Age        int        `json:"age" bson:"age" binding:"gte=0,lte=150"`
	Newsletter bool       `json:"newsletter" bson:"newsletter"`
	Joined     *time.Time `json:"joined,omitempty" bson:"joined,omitempty"`
}

type User = ginusers.User[Profile]

var testSecret = []byte("a test secret that is long enough for HS256!")

// raceTimeout bounds a wait for concurrent requests.
const raceTimeout = 60 * time.Second

// syncBuffer is a bytes.Buffer safe for concurrent writes (the audit log).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookLog records the hooks that fired, as "event email [changes]".
type hookLog struct {
	mu     sync.Mutex
	events []string
	resets map[string]string // e-mail -> last reset token
	// afterUpdate, when set, runs in the after-update hook (to act as a
	// concurrent administrator at a chosen moment).
	afterUpdate func(ctx context.Context, u *User, ch ginusers.Changes)
	// beforeDelete, when set, is the before-delete hook's error.
	beforeDelete error
	// beforeDeleteFn, when set, runs in the before-delete hook (to act
	// between the console's checks and the deletion).
	beforeDeleteFn func(ctx context.Context, u *User)
}

func (h *hookLog) add(e string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

func (h *hookLog) has(e string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, x := range h.events {
		if x == e {
			return true
		}
	}
	return false
}

func (h *hookLog) all() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.events, "\n")
}

func (h *hookLog) reset(email string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resets[email]
}

// env is a console mounted at /admin, next to the API's routes, on a fresh
// database of the embedded FerretDB, served over TLS (the cookies are
// Secure, with the __Host- prefix).
type env struct {
	t        *testing.T
	m        *ginusers.Manager[Profile]
	store    *mongostore.Store[Profile]
	sessions *mongostore.TokenStore
	sessColl *mongo.Collection
	srv      *httptest.Server
	base     string // srv.URL + "/admin"
	hasher   *storetest.CountingHasher
	audit    *syncBuffer
	hooks    *hookLog
	clock    *e2etest.Clock // the console's
}

func newEnv(t *testing.T, opts ...console.Option) *env {
	t.Helper()
	e := &env{t: t, hasher: storetest.NewCountingHasher(), audit: &syncBuffer{}, hooks: &hookLog{resets: map[string]string{}}, clock: e2etest.NewClock(time.Now())}
	db := mongotest.Database(t)
	e.store = mongostore.New[Profile](db.Collection("users"))
	if err := e.store.EnsureIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sessColl = db.Collection("console_sessions")
	e.sessions = mongostore.NewTokenStore(e.sessColl)
	if err := e.sessions.EnsureIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := e.hooks
	m, err := ginusers.New(e.store,
		ginusers.WithSecret(testSecret),
		ginusers.WithPasswordHasher(e.hasher),
		ginusers.WithLogger(slog.New(slog.DiscardHandler)),
		ginusers.OnAfterRegister(func(ctx context.Context, u *User) error { h.add("register " + u.Email); return nil }),
		ginusers.OnAfterUpdate(func(ctx context.Context, u *User, ch ginusers.Changes) error {
			h.add("update " + u.Email + " " + strings.Join(ch.Fields, ","))
			if h.afterUpdate != nil {
				h.afterUpdate(ctx, u, ch)
			}
			return nil
		}),
		ginusers.OnAfterForgotPassword(func(ctx context.Context, u *User, token string) error {
			h.mu.Lock()
			h.resets[u.Email] = token
			h.mu.Unlock()
			h.add("forgot-password " + u.Email)
			return nil
		}),
		ginusers.OnBeforeDelete(func(ctx context.Context, u *User) error {
			h.add("before-delete " + u.Email)
			if h.beforeDeleteFn != nil {
				h.beforeDeleteFn(ctx, u)
			}
			return h.beforeDelete
		}),
		ginusers.OnAfterDelete(func(ctx context.Context, u *User) error { h.add("after-delete " + u.Email); return nil }),
	)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	engine := gin.New()
	ginusers.Routes(engine, m)
	all := append([]console.Option{
		console.WithSessionStore(e.sessions),
		console.WithAuditLogger(slog.New(slog.NewTextHandler(e.audit, nil))),
		console.WithLogger(slog.New(slog.DiscardHandler)),
		console.WithClock(e.clock.Now),
	}, opts...)
	if err := console.Mount(engine.Group("/admin"), m, all...); err != nil {
		t.Fatalf("Mount() error = %v", err)
	}
	e.srv = newTLSServer(t, engine)
	e.base = e.srv.URL + "/admin"
	return e
}

func newTLSServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// user creates a user through the Manager.
func (e *env) user(email, password string, superuser bool) *User {
	e.t.Helper()
	yes := true
	u, err := e.m.Create(e.t.Context(), ginusers.UserCreate[Profile]{Email: email, Password: password, Active: &yes, Superuser: &superuser, Verified: &yes})
	if err != nil {
		e.t.Fatalf("Create(%s) error = %v", email, err)
	}
	return u
}

// get reads a user from the store.
func (e *env) get(id string) *User {
	e.t.Helper()
	u, err := e.m.Get(e.t.Context(), id)
	if err != nil {
		e.t.Fatalf("Get(%s) error = %v", id, err)
	}
	return u
}

// apiToken logs in on the API and returns the bearer token.
func (e *env) apiToken(email, password string) string {
	e.t.Helper()
	resp, err := e.srv.Client().PostForm(e.srv.URL+"/auth/jwt/login", url.Values{"username": {email}, "password": {password}})
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`"access_token":"([^"]+)"`).FindSubmatch(b)
	if resp.StatusCode != 200 || m == nil {
		e.t.Fatalf("API login %s = %d %s", email, resp.StatusCode, b)
	}
	return string(m[1])
}

// apiMe returns the status of GET /users/me with token.
func (e *env) apiMe(token string) int {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.srv.URL+"/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// auditLines returns the audit lines that contain every part.
func (e *env) auditLines(parts ...string) []string {
	var out []string
	for _, line := range strings.Split(e.audit.String(), "\n") {
		ok := strings.Contains(line, `msg="console audit"`)
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// browser is a client with its own cookies, as a browser is: it does not
// follow redirects, and remembers the last form token it saw.
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *e.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: e.t, e: e, c: &c}
}

// page is an answer.
type page struct {
	status int
	body   string
	header http.Header
}

func (p *page) location() string { return p.header.Get("Location") }

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// do sends a request to path (under the console, or absolute from "/")
// with extra headers, and keeps the page's form token.
func (b *browser) do(method, path string, form url.Values, hdr http.Header) *page {
	b.t.Helper()
	u := b.e.base + path
	if strings.HasPrefix(path, "https://") {
		u = path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	ctx, cancel := context.WithTimeout(b.t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := &page{status: resp.StatusCode, body: string(raw), header: resp.Header}
	if m := csrfField.FindStringSubmatch(p.body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return p
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil, nil)
}

// post sends form with the last form token seen.
func (b *browser) post(path string, form url.Values) *page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", b.csrf)
	}
	return b.do(http.MethodPost, path, form, nil)
}

// signIn signs in through the form and fails the test unless it works.
func (b *browser) signIn(email, password string) {
	b.t.Helper()
	if p := b.trySignIn(email, password); p.status != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s = %d, want 303\n%s", email, p.status, p.body)
	}
}

func (b *browser) trySignIn(email, password string) *page {
	b.t.Helper()
	b.get("/signin")
	return b.post("/signin", url.Values{"email": {email}, "password": {password}})
}

// cookie returns the browser's cookie of that name for the console.
func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.base + "/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

const sessionCookie = "__Host-ginusers-console"

// wantStatus fails the test unless p has status want.
func wantStatus(t *testing.T, what string, p *page, want int) {
	t.Helper()
	if p.status != want {
		t.Fatalf("%s = %d, want %d\n%s", what, p.status, want, p.body)
	}
}

// wantSignIn fails the test unless p sends the browser to the sign-in page.
func wantSignIn(t *testing.T, what string, p *page) {
	t.Helper()
	if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "/admin/signin") {
		t.Fatalf("%s = %d to %q, want 303 to the sign-in page\n%s", what, p.status, p.location(), p.body)
	}
}
