package console_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/console"
	"github.com/ginusers/kit/ginusers/storetest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

var secret = []byte("a test secret that is long enough for HS256!")

func newManager(t *testing.T) *ginusers.Manager[ginusers.NoFields] {
	t.Helper()
	m, err := ginusers.New[ginusers.NoFields](storetest.NewMemStore[ginusers.NoFields](), ginusers.WithSecret(secret), ginusers.WithPasswordHasher(storetest.NewCountingHasher()))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(b)
}

func TestMountRefusesABadConfiguration(t *testing.T) {
	m := newManager(t)
	tokens := storetest.NewMemTokenStore()
	for _, tt := range []struct {
		name string
		opts []console.Option
		want string
	}{
		{"no session store", nil, "WithSessionStore is required"},
		{"a zero idle timeout", []console.Option{console.WithSessionStore(tokens), console.WithIdleTimeout(0)}, "idle timeout"},
		{"an absolute timeout shorter than the idle one", []console.Option{console.WithSessionStore(tokens), console.WithAbsoluteTimeout(time.Minute)}, "absolute timeout"},
		{"a cookie name with the prefix", []console.Option{console.WithSessionStore(tokens), console.WithCookieName("__Host-x")}, "cookie name"},
		{"a cookie name with a space", []console.Option{console.WithSessionStore(tokens), console.WithCookieName("a b")}, "cookie name"},
		{"an unknown message", []console.Option{console.WithSessionStore(tokens), console.WithMessages(map[string]string{"users.titel": "x"})}, `unknown message key "users.titel"`},
		{"a bad trusted origin", []console.Option{console.WithSessionStore(tokens), console.WithTrustedOrigins("not an origin")}, "trusted origin"},
		{"a template that does not parse", []console.Option{console.WithSessionStore(tokens), console.WithTemplates(fstest.MapFS{"error.html": {Data: []byte(`{{define "content"}}{{.Nope`)}})}, "templates"},
		{"a nil clock", []console.Option{console.WithSessionStore(tokens), console.WithClock(nil)}, "clock"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			err := console.Mount(r.Group("/admin"), m, tt.opts...)
			var ce *ginusers.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Mount() error = %v, want a *ginusers.ConfigError about %q", err, tt.want)
			}
			if len(r.Routes()) != 0 {
				t.Errorf("a refused Mount mounted %d routes", len(r.Routes()))
			}
		})
	}
	if err := console.Mount[ginusers.NoFields](gin.New(), nil, console.WithSessionStore(tokens)); err == nil {
		t.Error("Mount with a nil manager did not fail")
	}
}

func TestTemplatesAndTextsCanBeReplaced(t *testing.T) {
	m := newManager(t)
	r := gin.New()
	err := console.Mount(r.Group("/ops"), m,
		console.WithSessionStore(storetest.NewMemTokenStore()),
		console.WithInsecureCookie(),
		console.WithMessages(map[string]string{"signin.title": "Connexion", "lang": "fr"}),
		console.WithTemplates(fstest.MapFS{
			"signin.html": {Data: []byte(`{{define "title"}}{{msg "signin.title"}}{{end}}{{define "content"}}<h1>{{msg "signin.title"}}</h1><form method="post" action="{{.Base}}/signin"><input type="hidden" name="csrf" value="{{.CSRF}}"></form>{{end}}`)},
			"console.css": {Data: []byte(`body { color: black; }`)},
		}))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, r, "/ops/signin")
	if resp.StatusCode != 200 || !strings.Contains(body, `<html lang="fr">`) || !strings.Contains(body, "<h1>Connexion</h1>") || !strings.Contains(body, `action="/ops/signin"`) {
		t.Errorf("GET /ops/signin = %d\n%s", resp.StatusCode, body)
	}
	var signin *http.Cookie
	for _, c := range resp.Cookies() {
		signin = c
	}
	if signin == nil || signin.Name != "ginusers-console-signin" || signin.Secure || signin.Path != "/ops/" || !signin.HttpOnly || signin.SameSite != http.SameSiteStrictMode {
		t.Errorf("insecure sign-in cookie = %+v, want no prefix, not Secure, Path=/ops/, HttpOnly, Strict", signin)
	}
	if _, css := get(t, r, "/ops/static/console.css"); css != `body { color: black; }` {
		t.Errorf("the style sheet was not replaced: %q", css)
	}
	// The other pages stay the embedded ones.
	resp, _ = get(t, r, "/ops/users")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ops/signin?next=%2Fops%2Fusers" {
		t.Errorf("GET /ops/users signed out = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = get(t, r, "/ops")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ops/users" {
		t.Errorf("GET /ops = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestMessagesIsACopy(t *testing.T) {
	a := console.Messages()
	a["signin.title"] = "changed"
	if console.Messages()["signin.title"] == "changed" {
		t.Error("Messages returned the table itself")
	}
}

// The console mounted on a group of an engine that also serves the API.
func ExampleMount() {
	store := storetest.NewMemStore[ginusers.NoFields]()
	m, err := ginusers.New[ginusers.NoFields](store, ginusers.WithSecret(secret))
	if err != nil {
		panic(err)
	}
	r := gin.New()
	ginusers.Routes(r, m)
	// Sessions belong in a store of their own: mongostore.NewTokenStore on
	// a collection "console_sessions", or Redis.
	if err := console.Mount(r.Group("/admin"), m, console.WithSessionStore(storetest.NewMemTokenStore())); err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/users", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 303 /admin/signin?next=%2Fadmin%2Fusers
}
