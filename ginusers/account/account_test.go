package account_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/account"
	"github.com/ginusers/kit/ginusers/storetest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	m.Run()
}

var secret = []byte("a test secret that is long enough for HS256!")

// mailbox keeps the tokens the hooks receive.
type mailbox struct {
	mu            sync.Mutex
	verify, reset map[string]string // by address
}

func (mb *mailbox) hook(into *map[string]string) ginusers.TokenHook[ginusers.NoFields] {
	return func(_ context.Context, u *ginusers.User[ginusers.NoFields], token string) error {
		mb.mu.Lock()
		defer mb.mu.Unlock()
		if *into == nil {
			*into = map[string]string{}
		}
		(*into)[u.Email] = token
		return nil
	}
}

type testApp struct {
	m      *ginusers.Manager[ginusers.NoFields]
	engine *gin.Engine
	mail   *mailbox
	cookie *ginusers.Backend
}

// newTestApp mounts the pages on an in-memory store, with a bearer JWT
// backend first and a cookie backend with database tokens second.
func newTestApp(t *testing.T, opts ...account.Option) *testApp {
	t.Helper()
	a := &testApp{mail: &mailbox{}}
	jwtS, err := ginusers.NewJWTStrategy(secret)
	if err != nil {
		t.Fatal(err)
	}
	dbS, err := ginusers.NewDatabaseStrategy(storetest.NewMemTokenStore())
	if err != nil {
		t.Fatal(err)
	}
	ct, err := ginusers.NewCookieTransport()
	if err != nil {
		t.Fatal(err)
	}
	a.cookie = ginusers.NewBackend("cookie", ct, dbS)
	a.m, err = ginusers.New(storetest.NewMemStore[ginusers.NoFields](),
		ginusers.WithSecret(secret),
		ginusers.WithBackends(ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), jwtS), a.cookie),
		ginusers.WithPasswordHasher(storetest.NewCountingHasher()),
		ginusers.WithLogger(slog.New(slog.DiscardHandler)),
		ginusers.OnAfterRequestVerify(a.mail.hook(&a.mail.verify)),
		ginusers.OnAfterForgotPassword(a.mail.hook(&a.mail.reset)),
	)
	if err != nil {
		t.Fatal(err)
	}
	a.engine = gin.New()
	if err := account.Mount(a.engine, a.m, append([]account.Option{account.WithSecret(secret), account.WithLogger(nil)}, opts...)...); err != nil {
		t.Fatalf("Mount() error = %v", err)
	}
	return a
}

// browser sends requests to h with the cookies it was given, as a browser
// on the same site does.
type browser struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]string
	header  http.Header // added to every request
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	return &browser{t: t, h: h, cookies: map[string]string{}, header: http.Header{}}
}

type page struct {
	code   int
	header http.Header
	body   string
}

func (b *browser) do(method, target string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "http://app.example"+target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range b.header {
		r.Header[k] = vs
	}
	for k, v := range b.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return page{code: w.Code, header: w.Header(), body: w.Body.String()}
}

func (b *browser) get(target string) page { return b.do(http.MethodGet, target, nil) }

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// submit gets the page at target, and posts form to action with the
// page's form token.
func (b *browser) submit(target, action string, form url.Values) page {
	b.t.Helper()
	p := b.get(target)
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("GET %s: no form token in\n%s", target, p.body)
	}
	form.Set("csrf_token", m[1])
	return b.do(http.MethodPost, action, form)
}

func TestMountRefusesBadConfiguration(t *testing.T) {
	a := newTestApp(t)
	bearerOnly, err := ginusers.New(storetest.NewMemStore[ginusers.NoFields](), ginusers.WithSecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	ok := []account.Option{account.WithSecret(secret)}
	for _, tt := range []struct {
		name string
		m    *ginusers.Manager[ginusers.NoFields]
		opts []account.Option
		want string
	}{
		{"no secret", a.m, nil, "WithSecret is required"},
		{"a short secret", a.m, []account.Option{account.WithSecret([]byte("short"))}, "WithSecret is required"},
		{"a Manager without a cookie backend", bearerOnly, ok, "no backend that signs in with a cookie"},
		{"a bearer backend", a.m, append(ok, account.WithBackend(a.m.Backends()[0])), "does not sign in with a cookie"},
		{"another Manager's backend", bearerOnly, append(ok, account.WithBackend(a.cookie)), "not one of the Manager's"},
		{"a path without a slash", a.m, append(ok, account.WithPath(account.SignIn, "sign-in")), "must begin with a single /"},
		{"a path to another host", a.m, append(ok, account.WithPath(account.SignIn, "//evil.example")), "must begin with a single /"},
		{"a path with a parameter", a.m, append(ok, account.WithPath(account.Verify, "/verify/:token")), "no query, fragment, parameter"},
		{"a path with a query", a.m, append(ok, account.WithPath(account.Verify, "/verify?x=1")), "no query, fragment, parameter"},
		{"two pages on one path", a.m, append(ok, account.WithPath(account.Register, "/sign-in")), "have the same path"},
		{"an unknown page", a.m, append(ok, account.WithPath("admin", "/admin")), "unknown page"},
		{"an absolute after-sign-in URL", a.m, append(ok, account.WithAfterSignIn("https://evil.example/")), "not a local path"},
		{"an after-sign-in path to another host", a.m, append(ok, account.WithAfterSignIn("//evil.example")), "not a local path"},
		{"an unknown message key", a.m, append(ok, account.WithMessages(map[string]string{"sign_in.titel": "Anmelden"})), `unknown key "sign_in.titel"`},
		{"a template that does not parse", a.m, append(ok, account.WithTemplates(fstest.MapFS{"sign-in.html": {Data: []byte(`{{define "content"}}{{if}}{{end}}`)}})), "template sign-in.html"},
		{"a bad trusted origin", a.m, append(ok, account.WithTrustedOrigins("not an origin")), "WithTrustedOrigins"},
		{"a provider link to another site", a.m, append(ok, account.WithProviders(account.Provider{Label: "Evil", Path: "https://evil.example/authorize"})), "WithProviders"},
		{"a provider link to another host", a.m, append(ok, account.WithProviders(account.Provider{Label: "Evil", Path: "//evil.example/authorize"})), "WithProviders"},
		{"a provider link with a script", a.m, append(ok, account.WithProviders(account.Provider{Label: "Evil", Path: "javascript:alert(1)"})), "WithProviders"},
		{"a provider without a label", a.m, append(ok, account.WithProviders(account.Provider{Label: " ", Path: "/auth/x/authorize?browser=1"})), "WithProviders"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := gin.New()
			err := account.Mount(e, tt.m, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Mount() error = %v, want one containing %q", err, tt.want)
			}
			if n := len(e.Routes()); n != 0 {
				t.Fatalf("Mount() failed but mounted %d routes", n)
			}
		})
	}
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	a := newTestApp(t)
	b := newBrowser(t, a.engine)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "strict-origin",
		"Cache-Control":           "no-store",
	}
	for _, tt := range []struct {
		name string
		p    func() page
		code int
	}{
		{"sign-in", func() page { return b.get("/sign-in") }, 200},
		{"sign-out", func() page { return b.get("/sign-out") }, 200},
		{"register", func() page { return b.get("/register") }, 200},
		{"forgot-password", func() page { return b.get("/forgot-password") }, 200},
		{"reset-password with a token", func() page { return b.get("/reset-password?token=abc") }, 200},
		{"reset-password without a token", func() page { return b.get("/reset-password") }, 400},
		{"verify with a bad token", func() page { return b.get("/verify?token=abc") }, 400},
		{"verify without a token", func() page { return b.get("/verify") }, 200},
		{"a refused form", func() page { return b.do("POST", "/sign-in", url.Values{"email": {"a@b.example"}}) }, 403},
		{"a redirect", func() page {
			return b.submit("/forgot-password", "/forgot-password", url.Values{"email": {"a@b.example"}})
		}, 303},
		{"a form with errors", func() page { return b.submit("/sign-in", "/sign-in", url.Values{}) }, 422},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p()
			if p.code != tt.code {
				t.Fatalf("status = %d, want %d\n%s", p.code, tt.code, p.body)
			}
			for k, v := range want {
				if got := p.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if strings.Contains(p.body, "<script") || strings.Contains(p.body, " style=") || strings.Contains(p.body, "<style") {
				t.Errorf("the page has a script or inline style, which the CSP refuses:\n%s", p.body)
			}
		})
	}
	css := b.get("/account.css")
	if css.code != 200 || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") || css.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("GET /account.css = %d %v", css.code, css.header)
	}
}

func TestFormsRefuseForgery(t *testing.T) {
	a := newTestApp(t)
	if _, err := a.m.Register(t.Context(), ginusers.UserCreate[ginusers.NoFields]{Email: "king.arthur@camelot.bt", Password: "guinevere"}); err != nil {
		t.Fatal(err)
	}
	creds := url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}}
	b := newBrowser(t, a.engine)
	token := csrfRE.FindStringSubmatch(b.get("/sign-in").body)[1]
	with := func(v url.Values, token string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = vs
		}
		if token != "" {
			out.Set("csrf_token", token)
		}
		return out
	}
	other := newBrowser(t, a.engine)
	otherToken := csrfRE.FindStringSubmatch(other.get("/sign-in").body)[1]
	for _, tt := range []struct {
		name   string
		header http.Header
		form   url.Values
		noJar  bool
	}{
		{"no form token", nil, with(creds, ""), false},
		{"a wrong form token", nil, with(creds, "AAAA"+token[4:]), false},
		{"the token of another browser's cookie", nil, with(creds, otherToken), false},
		{"the right token without the cookie", nil, with(creds, token), true},
		{"a cross-site post (Sec-Fetch-Site)", http.Header{"Sec-Fetch-Site": {"cross-site"}}, with(creds, token), false},
		{"a cross-origin post (Origin)", http.Header{"Origin": {"https://evil.example"}}, with(creds, token), false},
		{"the token in the query, not the form", nil, creds, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newBrowser(t, a.engine)
			if !tt.noJar {
				c.cookies = b.cookies
			}
			c.header = tt.header
			target := "/sign-in"
			if tt.name == "the token in the query, not the form" {
				target += "?csrf_token=" + url.QueryEscape(token)
			}
			p := c.do("POST", target, tt.form)
			if p.code != 403 || !strings.Contains(p.body, "This form cannot be accepted") {
				t.Fatalf("POST /sign-in = %d, want 403\n%s", p.code, p.body)
			}
			if len(p.header.Values("Set-Cookie")) > 0 && strings.Contains(strings.Join(p.header.Values("Set-Cookie"), ";"), "ginusersauth=") {
				t.Fatalf("a refused form signed in: %v", p.header.Values("Set-Cookie"))
			}
		})
	}
	// The same form, same-origin, with its token, signs in.
	b.header = http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://app.example"}}
	if p := b.do("POST", "/sign-in", with(creds, token)); p.code != 303 || b.cookies["ginusersauth"] == "" {
		t.Fatalf("POST /sign-in with the token = %d %v", p.code, p.header)
	}
}

func TestNextIsOnlyALocalPath(t *testing.T) {
	a := newTestApp(t, account.WithAfterSignIn("/home"))
	if _, err := a.m.Register(t.Context(), ginusers.UserCreate[ginusers.NoFields]{Email: "king.arthur@camelot.bt", Password: "guinevere"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ next, want string }{
		{"/orders?id=1", "/orders?id=1"},
		{"/", "/"},
		{"", "/home"},
		{"//evil.example", "/home"},
		{"//evil.example/path", "/home"},
		{`/\evil.example`, "/home"},
		{`/\/evil.example`, "/home"},
		{"https://evil.example", "/home"},
		{"http:evil.example", "/home"},
		{"javascript:alert(1)", "/home"},
		{"JAVASCRIPT:alert(1)", "/home"},
		{"evil.example", "/home"},
		{"/\t/evil.example", "/home"},
		{"/\n/evil.example", "/home"},
		{"/\x00", "/home"},
		{"/é", "/home"},
		{" /x", "/home"},
	} {
		t.Run(tt.next, func(t *testing.T) {
			b := newBrowser(t, a.engine)
			p := b.submit("/sign-in?next="+url.QueryEscape(tt.next), "/sign-in", url.Values{
				"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}, "next": {tt.next},
			})
			if p.code != 303 || p.header.Get("Location") != tt.want {
				t.Fatalf("sign in with next=%q: %d Location %q, want 303 %q", tt.next, p.code, p.header.Get("Location"), tt.want)
			}
			// The page does not carry a bad next into its form either.
			form := b.get("/sign-in?next=" + url.QueryEscape(tt.next))
			if tt.want == "/home" && tt.next != "" && strings.Contains(form.body, `name="next"`) {
				t.Fatalf("the sign-in page kept next=%q:\n%s", tt.next, form.body)
			}
		})
	}
}

func TestMessagesAndTemplatesCanBeReplaced(t *testing.T) {
	a := newTestApp(t,
		account.WithMessages(map[string]string{"sign_in.title": "Anmelden", "lang": "de"}),
		account.WithTemplates(fstest.MapFS{
			"forgot-password.html": {Data: []byte(`{{define "title"}}Custom{{end}}{{define "content"}}<p id="custom">{{msg "forgot.intro"}}</p>{{template "csrf" .}}{{end}}`)},
			"account.css":          {Data: []byte("body { color: red; }")},
		}),
	)
	b := newBrowser(t, a.engine)
	if p := b.get("/sign-in"); !strings.Contains(p.body, `<html lang="de">`) || !strings.Contains(p.body, "<h1>Anmelden</h1>") {
		t.Fatalf("sign-in with replaced messages:\n%s", p.body)
	}
	if p := b.get("/forgot-password"); !strings.Contains(p.body, `<p id="custom">Enter the address`) || !strings.Contains(p.body, "<title>Custom · Account</title>") {
		t.Fatalf("forgot-password with a replaced template:\n%s", p.body)
	}
	if p := b.get("/register"); !strings.Contains(p.body, "<h1>Create an account</h1>") {
		t.Fatalf("register kept the embedded template:\n%s", p.body)
	}
	if p := b.get("/account.css"); p.body != "body { color: red; }" {
		t.Fatalf("account.css = %q", p.body)
	}
	for k := range account.DefaultMessages() {
		if err := account.Mount(gin.New(), a.m, account.WithSecret(secret), account.WithMessages(map[string]string{k: "x"})); err != nil {
			t.Fatalf("Mount() with message %q: %v", k, err)
		}
	}
}

// TestEmbeddedTemplatesUseEveryMessage: every text of the table appears
// on some page, so that WithMessages can change every text the pages show
// and the table holds no dead key.
func TestEmbeddedTemplatesUseEveryMessage(t *testing.T) {
	msgs := account.DefaultMessages()
	marked := map[string]string{}
	for k := range msgs {
		marked[k] = "«" + k + "»"
	}
	a := newTestApp(t, account.WithMessages(marked), account.WithProviders(account.Provider{Label: "SSO", Path: "/auth/sso/authorize?browser=1"}))
	b := newBrowser(t, a.engine)
	if _, err := a.m.Register(t.Context(), ginusers.UserCreate[ginusers.NoFields]{Email: "king.arthur@camelot.bt", Password: "guinevere"}); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	add := func(p page) { seen.WriteString(p.body) }
	add(b.get("/sign-in"))
	add(b.submit("/sign-in", "/sign-in", url.Values{}))
	add(b.submit("/sign-in", "/sign-in", url.Values{"email": {"x@camelot.bt"}, "password": {"x"}}))
	add(b.get("/sign-in?done=password-reset"))
	add(b.get("/sign-in?done=signed-out"))
	add(b.get("/sign-out"))
	add(b.get("/register"))
	add(b.get("/register?done=sent"))
	add(b.submit("/register", "/register", url.Values{"email": {"not an address"}, "password": {"x"}}))
	add(b.get("/forgot-password"))
	add(b.get("/forgot-password?done=sent"))
	add(b.get("/reset-password?token=x"))
	add(b.get("/reset-password"))
	add(b.get("/verify"))
	add(b.get("/verify?done=sent"))
	add(b.get("/verify?token=x"))
	add(b.do("POST", "/verify", url.Values{}))
	add(b.submit("/verify", "/verify", url.Values{"email": {strings.Repeat("x", 70<<10)}}))
	b.submit("/sign-in", "/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}})
	add(b.get("/sign-in"))
	add(b.get("/sign-out"))
	u, _ := a.m.GetByEmail(t.Context(), "king.arthur@camelot.bt")
	if err := a.m.RequestVerify(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	tok := a.mail.verify["king.arthur@camelot.bt"]
	add(b.get("/verify?token=" + tok))
	add(b.get("/verify?token=" + tok))
	reqVerified, err := ginusers.New(storetest.NewMemStore[ginusers.NoFields](), ginusers.WithSecret(secret), ginusers.WithBackends(a.cookie), ginusers.WithRequireVerified())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reqVerified.Register(t.Context(), ginusers.UserCreate[ginusers.NoFields]{Email: "king.arthur@camelot.bt", Password: "guinevere"}); err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	if err := account.Mount(e, reqVerified, account.WithSecret(secret), account.WithMessages(marked)); err != nil {
		t.Fatal(err)
	}
	add(newBrowser(t, e).submit("/sign-in", "/sign-in", url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}}))
	for k := range msgs {
		if k == "failure.unavailable_title" || k == "failure.unavailable" || k == "failure.internal_title" || k == "failure.internal" {
			continue // TestFailurePages
		}
		if !strings.Contains(seen.String(), marked[k]) {
			t.Errorf("no page showed the message %q", k)
		}
	}
}

// failingStore fails every lookup by address with err.
type failingStore struct {
	*storetest.MemStore[ginusers.NoFields]
	err error
}

func (s *failingStore) GetByEmail(context.Context, string) (*ginusers.User[ginusers.NoFields], error) {
	return nil, s.err
}

func TestFailurePages(t *testing.T) {
	for _, tt := range []struct {
		name       string
		err        error
		code       int
		want       string
		retryAfter string
		logged     string
	}{
		{"an unreachable database", fmt.Errorf("%w: no server", ginusers.ErrUnavailable), 503, "Service unavailable", "5", "level=WARN"},
		{"another failure", errors.New("disk on fire"), 500, "Something went wrong", "", "disk on fire"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			ct, _ := ginusers.NewCookieTransport()
			dbS, _ := ginusers.NewDatabaseStrategy(storetest.NewMemTokenStore())
			m, err := ginusers.New[ginusers.NoFields](&failingStore{storetest.NewMemStore[ginusers.NoFields](), tt.err},
				ginusers.WithSecret(secret), ginusers.WithLogger(slog.New(slog.DiscardHandler)),
				ginusers.WithBackends(ginusers.NewBackend("cookie", ct, dbS)))
			if err != nil {
				t.Fatal(err)
			}
			e := gin.New()
			if err := account.Mount(e, m, account.WithSecret(secret), account.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))); err != nil {
				t.Fatal(err)
			}
			b := newBrowser(t, e)
			for _, f := range []struct{ page, field string }{
				{"/forgot-password", "email"}, {"/verify", "email"}, {"/register", "email"}, {"/sign-in", "email"},
			} {
				p := b.submit(f.page, f.page, url.Values{"email": {"king.arthur@camelot.bt"}, "password": {"guinevere"}})
				if p.code != tt.code || !strings.Contains(p.body, tt.want) || p.header.Get("Retry-After") != tt.retryAfter {
					t.Errorf("POST %s = %d Retry-After %q, want %d %q\n%s", f.page, p.code, p.header.Get("Retry-After"), tt.code, tt.retryAfter, p.body)
				}
				if strings.Contains(p.body, tt.err.Error()) {
					t.Errorf("POST %s shows the error to the client:\n%s", f.page, p.body)
				}
			}
			if !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("logs = %s, want %q", logs.String(), tt.logged)
			}
		})
	}
}

func TestMountOnAGroupLinksUnderIt(t *testing.T) {
	a := newTestApp(t)
	e := gin.New()
	if err := account.Mount(e.Group("/account"), a.m, account.WithSecret(secret), account.WithPath(account.SignIn, "/login")); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	p := b.get("/account/login")
	for _, want := range []string{`href="/account/account.css"`, `action="/account/login"`, `href="/account/forgot-password"`, `href="/account/register"`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("GET /account/login lacks %s:\n%s", want, p.body)
		}
	}
	if p := b.submit("/account/forgot-password", "/account/forgot-password", url.Values{"email": {"a@b.example"}}); p.code != 303 || p.header.Get("Location") != "/account/forgot-password?done=sent" {
		t.Fatalf("POST /account/forgot-password = %d %v", p.code, p.header)
	}
	if p := b.get("/sign-in"); p.code != 404 {
		t.Fatalf("GET /sign-in = %d, want 404: the pages are under the group", p.code)
	}
}

// TestProviderLinks: the sign-in and register pages link to each provider
// given, in order, the label escaped; without providers they show none.
func TestProviderLinks(t *testing.T) {
	a := newTestApp(t, account.WithProviders(
		account.Provider{Label: "Camelot SSO", Path: "/auth/oidc-cookie/authorize?browser=1&redirect=%2Fsign-in"},
		account.Provider{Label: `<script>alert("x")</script>`, Path: "/auth/gh/authorize?browser=1"},
	))
	b := newBrowser(t, a.engine)
	for _, path := range []string{"/sign-in", "/register"} {
		p := b.get(path)
		first := strings.Index(p.body, `<a href="/auth/oidc-cookie/authorize?browser=1&amp;redirect=%2Fsign-in">Sign in with Camelot SSO</a>`)
		second := strings.Index(p.body, `<a href="/auth/gh/authorize?browser=1">Sign in with &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</a>`)
		if p.code != http.StatusOK || first < 0 || second < first {
			t.Fatalf("GET %s = %d, want both provider links in order, the label escaped:\n%s", path, p.code, p.body)
		}
	}
	plain := newBrowser(t, newTestApp(t).engine)
	if p := plain.get("/sign-in"); strings.Contains(p.body, "Sign in with") || strings.Contains(p.body, `class="providers"`) {
		t.Fatalf("GET /sign-in without providers shows a provider:\n%s", p.body)
	}
}
