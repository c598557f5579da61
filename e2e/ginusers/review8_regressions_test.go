package ginusers_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// Regressions found by an attacker's review of issue 8's change (the HTTP
// adapter and the route table).

// TestTwoManagersNeverShareSessions: an application with two user bases on
// one engine (customers and staff, the same field type) must not let a
// customer's token through the staff's middleware or routes because the
// customers' OptionalUser authenticated the request first.
func TestTwoManagersNeverShareSessions(t *testing.T) {
	customers := newApp(t)
	staff := newApp(t, ginusers.WithSecret([]byte("the staff's own secret, long enough for HS256")))
	mallory, customerTok := customers.user("mallory@example.com", true, true, true) // a superuser of the customers
	boss, staffTok := staff.user("boss@example.com", true, true, true)
	_ = mallory

	r := gin.New()
	r.Use(ginusers.OptionalUser(customers.m)) // personalises every page
	r.GET("/staff/payroll", ginusers.RequireUser(staff.m, ginusers.Superuser), func(c *gin.Context) {
		u, _ := staff.m.CurrentUser(c)
		c.String(http.StatusOK, "payroll for %s", u.Email)
	})
	r.GET("/staff/whoami", func(c *gin.Context) {
		if u, ok := staff.m.CurrentUser(c); ok {
			c.String(http.StatusOK, "staff %s", u.Email)
			return
		}
		if _, ok := staff.m.UserFromContext(c.Request.Context()); ok {
			c.String(http.StatusOK, "staff from context")
			return
		}
		c.String(http.StatusOK, "nobody")
	})
	ginusers.UsersRoutes(r.Group("/staff/users"), staff.m)
	customers.engine, staff.engine = r, r

	wantDetail(t, customers.req("GET", "/staff/payroll", nil, bearer(customerTok)...), http.StatusUnauthorized, "Unauthorized")
	wantDetail(t, customers.req("GET", "/staff/users/me", nil, bearer(customerTok)...), http.StatusUnauthorized, "Unauthorized")
	wantDetail(t, customers.req("DELETE", "/staff/users/"+boss.ID, nil, bearer(customerTok)...), http.StatusUnauthorized, "Unauthorized")
	if got := customers.req("GET", "/staff/whoami", nil, bearer(customerTok)...); got.Body != "nobody" {
		t.Errorf("the staff's CurrentUser under the customers' OptionalUser = %q, want nobody", got.Body)
	}
	staff.stored(boss.ID) // still there

	// The other way: the customers' failure to authenticate a staff token
	// must not refuse it to the staff.
	if got := staff.req("GET", "/staff/payroll", nil, bearer(staffTok)...); got.Code != http.StatusOK || got.Body != "payroll for boss@example.com" {
		t.Errorf("a staff token under the customers' OptionalUser = %d %q, want 200", got.Code, got.Body)
	}
	wantStatus(t, staff.req("GET", "/staff/users/me", nil, bearer(staffTok)...), http.StatusOK)
}

// TestNoEnabledBackendAuthenticatesNothing: a list of enabled backends
// that comes out empty at run time refuses every token, as fastapi-users'
// get_enabled_backends returning [] does; it does not mean "all".
func TestNoEnabledBackendAuthenticatesNothing(t *testing.T) {
	a := multiApp(t, "mongo")
	a.register("user@example.com", "password123")
	cookie := a.cookieLogin("user@example.com", "password123")
	tok := a.login("user@example.com", "password123")

	var enabled []*ginusers.Backend // computed: none is enabled here
	for _, b := range a.m.Backends() {
		if b.Name() == "oauth" {
			enabled = append(enabled, b)
		}
	}
	ok := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
	a.plainGET("/from-none", ginusers.RequireUserFrom(a.m, enabled), ok)
	a.plainGET("/from-empty", ginusers.RequireUserFrom(a.m, []*ginusers.Backend{}), ok)
	a.plainGET("/from-jwt", ginusers.RequireUserFrom(a.m, a.backends[:1]), ok)
	handle := func(c *gin.Context) error { c.String(http.StatusOK, "ok"); return nil }
	ginusers.Mount(a.engine, a.m,
		ginusers.Route{Method: "GET", Path: "/route-empty", Auth: &ginusers.Auth{Backends: []*ginusers.Backend{}}, Handle: handle},
		ginusers.Route{Method: "GET", Path: "/route-foreign", Auth: &ginusers.Auth{Backends: []*ginusers.Backend{ginusers.NewBackend("jwt", ginusers.NewBearerTransport(), nil)}}, Handle: handle},
		ginusers.Route{Method: "GET", Path: "/route-all", Auth: &ginusers.Auth{}, Handle: handle},
	)
	a.undocumented("/route-empty", "/route-foreign", "/route-all")
	for _, path := range []string{"/from-none", "/from-empty", "/route-empty", "/route-foreign"} {
		wantStatus(t, a.req("GET", path, nil, withCookie(cookie)...), http.StatusUnauthorized)
		wantStatus(t, a.req("GET", path, nil, bearer(tok)...), http.StatusUnauthorized)
	}
	wantStatus(t, a.req("GET", "/from-jwt", nil, bearer(tok)...), http.StatusOK)
	wantStatus(t, a.req("GET", "/from-jwt", nil, withCookie(cookie)...), http.StatusUnauthorized)
	wantStatus(t, a.req("GET", "/route-all", nil, withCookie(cookie)...), http.StatusOK)
	wantStatus(t, a.req("GET", "/route-all", nil, bearer(tok)...), http.StatusOK)
}

// TestReturnedRouteTableIsACopy: the table the route factories return is
// for documentation; editing it must not change what is enforced.
func TestReturnedRouteTableIsACopy(t *testing.T) {
	a := newApp(t)
	a.engine = gin.New()
	routes := ginusers.UsersRoutes(a.engine.Group("/users"), a.m)
	for _, rt := range routes {
		if rt.Auth != nil {
			rt.Auth.Requirements = rt.Auth.Requirements[:0]
			rt.Auth.Backends = nil
		}
		for i := range rt.Errors {
			rt.Errors[i].Status = http.StatusOK
		}
	}
	_, tok := a.user("joe@example.com", true, false, true)
	victim, _ := a.user("victim@example.com", true, false, true)
	wantDetail(t, a.req("DELETE", "/users/"+victim.ID, nil, bearer(tok)...), http.StatusForbidden, "Forbidden")
	a.stored(victim.ID)
}

// TestErrorWriterThatWritesNothing: a custom error writer that only logs
// must not leave a refused request answered 200.
func TestErrorWriterThatWritesNothing(t *testing.T) {
	var seen []int
	a := newApp(t, ginusers.WithErrorWriter(func(_ *gin.Context, e *ginusers.HTTPError) { seen = append(seen, e.Status) }))
	r := a.req("GET", "/users/me", nil)
	wantDetail(t, r, http.StatusUnauthorized, "Unauthorized")
	if r.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
	}
	if len(seen) != 1 || seen[0] != http.StatusUnauthorized {
		t.Errorf("the writer saw %v", seen)
	}
}

// TestMountRefusesAnErrorCaseThatIsNotAnError: an error case without a
// 4xx/5xx status would answer a failure 200; Mount refuses it at start.
func TestMountRefusesAnErrorCaseThatIsNotAnError(t *testing.T) {
	a := newApp(t)
	defer func() {
		if recover() == nil {
			t.Error("Mount() accepted an error case with status 0")
		}
	}()
	ginusers.Mount(gin.New(), a.m, ginusers.Route{Method: "GET", Path: "/x",
		Errors: []ginusers.ErrorCase{{Err: errors.New("nope"), Code: "NOPE"}},
		Handle: func(*gin.Context) error { return nil }})
}

// TestOtherBodyTypesAreLimited: a route whose body is neither JSON nor a
// form reads it itself, within the body limit (413 past it).
func TestOtherBodyTypesAreLimited(t *testing.T) {
	a := newApp(t, ginusers.WithMaxBodyBytes(1024))
	var read int
	ginusers.Mount(a.engine, a.m, ginusers.Route{Method: "POST", Path: "/upload",
		Request: &ginusers.Body{ContentType: "application/octet-stream"},
		Handle: func(c *gin.Context) error {
			b, err := io.ReadAll(c.Request.Body)
			read = len(b)
			if err != nil {
				return err
			}
			c.String(http.StatusOK, "%d", len(b))
			return nil
		}})
	a.undocumented("/upload")
	post := func(n int) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/upload", bytes.NewReader(bytes.Repeat([]byte("a"), n)))
		req.Header.Set("Content-Type", "application/octet-stream")
		w := httptest.NewRecorder()
		a.engine.ServeHTTP(w, req)
		return w
	}
	if w := post(1000); w.Code != http.StatusOK || w.Body.String() != "1000" {
		t.Errorf("a body within the limit = %d %q", w.Code, w.Body)
	}
	if w := post(1 << 20); w.Code != http.StatusRequestEntityTooLarge || read > 1024 {
		t.Errorf("a 1 MiB body with a 1 KiB limit = %d, %d bytes read", w.Code, read)
	}
	// A multipart form is read as a form, within the limit too.
	var form map[string][]string
	ginusers.Mount(a.engine, a.m, ginusers.Route{Method: "POST", Path: "/multipart",
		Request: &ginusers.Body{ContentType: "multipart/form-data"},
		Handle: func(c *gin.Context) error {
			form = ginusers.RouteForm(c)
			c.Status(http.StatusNoContent)
			return nil
		}})
	a.undocumented("/multipart")
	body := "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--\r\n"
	req := httptest.NewRequest("POST", "/multipart", strings.NewReader(body))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	w := httptest.NewRecorder()
	a.engine.ServeHTTP(w, req)
	if w.Code != http.StatusNoContent || len(form["a"]) != 1 || form["a"][0] != "b" {
		t.Errorf("multipart = %d, form %v", w.Code, form)
	}
	big := "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" + strings.Repeat("b", 4096) + "\r\n--x--\r\n"
	req = httptest.NewRequest("POST", "/multipart", strings.NewReader(big))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	w = httptest.NewRecorder()
	a.engine.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 4 KiB multipart body with a 1 KiB limit = %d", w.Code)
	}
}

// TestCrossSiteWebSocketHandshake: a page of another site opening a
// WebSocket to the API carries the user's cookie; the handshake is a GET,
// and the cookie must not authenticate it (cross-site WebSocket
// hijacking). A same-origin handshake, and a client that is not a browser,
// are authenticated.
func TestCrossSiteWebSocketHandshake(t *testing.T) {
	a := multiApp(t, "mongo")
	a.register("user@example.com", "password123")
	cookie := a.cookieLogin("user@example.com", "password123")
	a.plainGET("/ws", func(c *gin.Context) {
		s, err := a.m.AuthenticateRequest(c.Request)
		switch {
		case errors.Is(err, ginusers.ErrCrossOrigin):
			c.String(http.StatusForbidden, "cross-origin")
		case err != nil:
			c.String(http.StatusUnauthorized, "no session")
		default:
			c.String(http.StatusOK, "hello %s", s.User.Email)
		}
	})
	a.plainGET("/ws-mw", ginusers.RequireUser(a.m), func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	upgrade := []string{"Connection", "Upgrade", "Upgrade", "websocket"}
	for _, c := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"cross-site", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"cross-origin, Origin only", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"same-origin", []string{"Origin", "http://example.com", "Sec-Fetch-Site", "same-origin"}, http.StatusOK},
		{"a trusted origin", []string{"Origin", "https://trusted.example"}, http.StatusOK},
		{"not a browser", nil, http.StatusOK},
	} {
		h := append(append(append([]string{}, withCookie(cookie)...), upgrade...), c.headers...)
		for _, path := range []string{"/ws", "/ws-mw"} {
			if r := a.req("GET", path, nil, h...); r.Code != c.want {
				t.Errorf("%s handshake to %s = %d %q, want %d", c.name, path, r.Code, r.Body, c.want)
			}
		}
		// A plain cross-site GET (a link) is still a safe request.
		plain := append(append([]string{}, withCookie(cookie)...), c.headers...)
		wantStatus(t, a.req("GET", "/ws", nil, plain...), http.StatusOK)
	}
}
