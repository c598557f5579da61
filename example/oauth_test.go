package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ginusers/kit/oauth/oidctest"
)

// startExampleWithOIDC starts an OpenID provider in the test (zitadel's
// pkg/op: discovery, PKCE S256 required, redirect URIs checked exactly)
// with the user arthur-1 (king.arthur@camelot.bt, verified), and the
// example signing in with it, over plain HTTP (COOKIE_INSECURE=1), with
// env added; it returns the example's base URL and the provider.
func startExampleWithOIDC(t *testing.T, env map[string]string) (string, *oidctest.Provider) {
	t.Helper()
	// The callback URLs must be known before the example starts: pick its port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	public := "http://" + addr

	op := oidctest.Start(t)
	op.AddClient("example", "example-secret", []string{
		public + "/auth/oidc/callback", public + "/auth/oidc-cookie/callback", public + "/auth/associate/oidc/callback",
	})
	op.AddUser(oidctest.User{Subject: "arthur-1", Email: "king.arthur@camelot.bt", EmailVerified: true})
	vars := map[string]string{
		"ADDR": addr, "DATA_DIR": t.TempDir(), "PUBLIC_URL": public,
		"SECRET":      "an example secret that is long enough to sign",
		"OIDC_ISSUER": op.Issuer(), "OIDC_CLIENT_ID": "example", "OIDC_CLIENT_SECRET": "example-secret",
		"COOKIE_INSECURE": "1",
	}
	maps.Copy(vars, env)
	base, stop := startExample(t, vars)
	t.Cleanup(stop)
	return base, op
}

// TestExampleOAuth runs the example with OIDC_ISSUER pointing at an OpenID
// provider in the test (zitadel's pkg/op: discovery, PKCE S256 required,
// redirect URIs checked exactly) and signs in through the bearer and the
// cookie backends, then reads /users/me.
func TestExampleOAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	base, op := startExampleWithOIDC(t, map[string]string{"OIDC_REDIRECTS": "/authenticated-route"})

	newBrowser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	get := func(b *http.Client, u, bearer string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := b.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	signIn := func(b *http.Client, path string) *url.URL {
		t.Helper()
		code, _, body := get(b, base+path, "")
		var a struct {
			AuthorizationURL string `json:"authorization_url"`
		}
		if err := json.Unmarshal([]byte(body), &a); code != http.StatusOK || err != nil {
			t.Fatalf("GET %s = %d %s, want 200 with authorization_url", path, code, body)
		}
		cb, err := op.SignIn(ctx, b, a.AuthorizationURL, "arthur-1")
		if err != nil {
			t.Fatalf("signing in at the provider: %v", err)
		}
		return cb
	}

	// Bearer.
	b := newBrowser()
	code, _, body := get(b, signIn(b, "/auth/oidc/authorize").String(), "")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); code != http.StatusOK || err != nil || tok.AccessToken == "" {
		t.Fatalf("bearer callback = %d %s, want 200 with a token", code, body)
	}
	if code, _, body := get(b, base+"/users/me", tok.AccessToken); code != http.StatusOK || !strings.Contains(body, `"email":"king.arthur@camelot.bt"`) || !strings.Contains(body, `"oauth_name":"oidc"`) {
		t.Fatalf("GET /users/me = %d %s, want the user with the oidc account", code, body)
	}

	// Cookie, with a redirect to an allowed page.
	c := newBrowser()
	cb := signIn(c, "/auth/oidc-cookie/authorize?redirect=%2Fauthenticated-route")
	code, hdr, body := get(c, cb.String(), "")
	if code != http.StatusSeeOther || hdr.Get("Location") != "/authenticated-route" {
		t.Fatalf("cookie callback = %d (Location %q) %s, want 303 to /authenticated-route", code, hdr.Get("Location"), body)
	}
	if code, _, body := get(c, base+"/authenticated-route", ""); code != http.StatusOK || !strings.Contains(body, "Hello king.arthur@camelot.bt!") {
		t.Fatalf("GET /authenticated-route with the cookie = %d %s, want the greeting", code, body)
	}
	// The account pages link to the provider, and the link alone (no
	// script) signs in: 303 to the provider, then back to /sign-in.
	d := newBrowser()
	opHost := strings.TrimPrefix(op.Issuer(), "http://")
	const href = `<a href="/auth/oidc-cookie/authorize?browser=1&amp;redirect=%2fsign-in">Sign in with `
	for _, page := range []string{"/sign-in", "/register"} {
		if code, _, body := get(d, base+page, ""); code != http.StatusOK || !strings.Contains(strings.ToLower(body), strings.ToLower(href+opHost+"</a>")) {
			t.Fatalf("GET %s = %d, want a link to sign in with %s:\n%s", page, code, opHost, body)
		}
	}
	code, hdr, body = get(d, base+"/auth/oidc-cookie/authorize?browser=1&redirect=%2Fsign-in", "")
	if code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), op.Issuer()) {
		t.Fatalf("the account pages' link = %d (Location %q) %s, want 303 to the provider", code, hdr.Get("Location"), body)
	}
	cb, err := op.SignIn(ctx, d, hdr.Get("Location"), "arthur-1")
	if err != nil {
		t.Fatalf("signing in at the provider from the link: %v", err)
	}
	if code, hdr, body = get(d, cb.String(), ""); code != http.StatusSeeOther || hdr.Get("Location") != "/sign-in" {
		t.Fatalf("callback of the link's flow = %d (Location %q) %s, want 303 to /sign-in", code, hdr.Get("Location"), body)
	}
	if code, _, body := get(d, base+"/sign-in", ""); code != http.StatusOK || !strings.Contains(body, `<strong id="signed-in-as">king.arthur@camelot.bt</strong>`) {
		t.Fatalf("GET /sign-in after the provider's sign-in = %d, want it to show the user:\n%s", code, body)
	}

	// The OpenAPI document has the OAuth routes.
	if code, _, body := get(c, base+"/openapi.json", ""); code != http.StatusOK || !strings.Contains(body, `"/auth/oidc/callback"`) || !strings.Contains(body, `"/auth/associate/oidc/authorize"`) {
		t.Fatalf("GET /openapi.json = %d, want the OAuth routes documented", code)
	}
}

// TestExampleWithoutOAuth: without the OIDC variables, no OAuth route.
func TestExampleWithoutOAuth(t *testing.T) {
	base, stop := startExample(t, map[string]string{
		"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(), "SECRET": "an example secret that is long enough to sign",
	})
	defer stop()
	resp, err := http.Get(base + "/auth/oidc/authorize")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /auth/oidc/authorize without OIDC_ISSUER = %d, want 404", resp.StatusCode)
	}
	if _, err := newApp(t.Context(), func(k string) string {
		return map[string]string{"DATA_DIR": t.TempDir(), "OIDC_ISSUER": "http://127.0.0.1:1"}[k]
	}, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Fatalf("newApp() with OIDC_ISSUER alone = %v, want an error naming the three variables", err)
	}
}
