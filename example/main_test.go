package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/mail/smtptest"
	"github.com/ginusers/kit/ginusers/redisstore/redistest"
)

// startExample runs the example as `go run ./example` would, on an
// embedded FerretDB in dir, and returns its base URL and a stop function.
func startExample(t *testing.T, env map[string]string) (string, func()) {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, getenv, slog.New(slog.DiscardHandler), ready) }()
	select {
	case addr := <-ready:
		stopped := false
		return "http://" + addr, func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run() after shutdown = %v, want nil", err)
			}
		}
	case err := <-done:
		cancel()
		t.Fatalf("run() = %v before serving", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("the example did not start within 60 s")
	}
	return "", nil
}

type result struct {
	code int
	body map[string]any
	raw  string
}

func call(t *testing.T, method, u, contentType, body, token string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := result{code: resp.StatusCode, raw: string(b)}
	_ = json.Unmarshal(b, &r.body)
	return r
}

func login(t *testing.T, base, email, password string) string {
	t.Helper()
	r := call(t, "POST", base+"/auth/jwt/login", "application/x-www-form-urlencoded", url.Values{"username": {email}, "password": {password}}.Encode(), "")
	if r.code != 200 {
		t.Fatalf("login %s = %d %s", email, r.code, r.raw)
	}
	return r.body["access_token"].(string)
}

func TestExampleEndToEnd(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"ADDR": "127.0.0.1:0", "DATA_DIR": dir,
		"SECRET":      "an example secret that is long enough to sign",
		"ADMIN_EMAIL": "admin@camelot.bt", "ADMIN_PASSWORD": "holy-grail-1",
	}
	base, stop := startExample(t, env)
	defer stop()

	r := call(t, "POST", base+"/auth/register", "application/json", `{"email": "king.arthur@camelot.bt", "password": "guinevere", "first_name": "Arthur"}`, "")
	if r.code != 201 || r.body["first_name"] != "Arthur" || r.body["last_name"] != nil || r.body["is_verified"] != false {
		t.Fatalf("register = %d %s", r.code, r.raw)
	}
	id := r.body["id"].(string)
	for _, tt := range []struct{ password, reason string }{
		{"short", "Password should be at least 8 characters"},
		{"xlancelot@camelot.btx", "Password should not contain e-mail"},
	} {
		r = call(t, "POST", base+"/auth/register", "application/json", `{"email": "lancelot@camelot.bt", "password": "`+tt.password+`"}`, "")
		d, _ := r.body["detail"].(map[string]any)
		if r.code != 400 || d["code"] != "REGISTER_INVALID_PASSWORD" || d["reason"] != tt.reason {
			t.Fatalf("register with %q = %d %s, want reason %q", tt.password, r.code, r.raw, tt.reason)
		}
	}

	tok := login(t, base, "King.Arthur@camelot.bt", "guinevere")
	r = call(t, "GET", base+"/authenticated-route", "", "", tok)
	if r.code != 200 || r.body["message"] != "Hello king.arthur@camelot.bt!" {
		t.Fatalf("authenticated-route = %d %s", r.code, r.raw)
	}
	r = call(t, "PATCH", base+"/users/me", "application/json", `{"last_name": "Pendragon"}`, tok)
	if r.code != 200 || r.body["last_name"] != "Pendragon" || r.body["first_name"] != "Arthur" {
		t.Fatalf("PATCH /users/me = %d %s", r.code, r.raw)
	}
	if r = call(t, "GET", base+"/users/"+id, "", "", tok); r.code != 403 {
		t.Fatalf("GET /users/{id} as a user = %d, want 403", r.code)
	}
	admin := login(t, base, "admin@camelot.bt", "holy-grail-1")
	r = call(t, "GET", base+"/users/me", "", "", admin)
	if r.body["is_superuser"] != true || r.body["is_verified"] != true || r.body["is_active"] != true {
		t.Fatalf("admin = %s", r.raw)
	}
	if r = call(t, "GET", base+"/users/"+id, "", "", admin); r.code != 200 || r.body["last_name"] != "Pendragon" {
		t.Fatalf("GET /users/{id} as admin = %d %s", r.code, r.raw)
	}
	if r = call(t, "GET", base+"/users/me", "", "", ""); r.code != 401 {
		t.Fatalf("GET /users/me without a token = %d", r.code)
	}
	if r = call(t, "DELETE", base+"/auth/register", "", "", ""); r.code != 405 {
		t.Fatalf("DELETE /auth/register = %d, want 405", r.code)
	}
	stop()

	// A restart on the same files keeps the users and the secret's tokens,
	// and the admin bootstrap is idempotent; a new ADMIN_PASSWORD is applied.
	env["ADMIN_PASSWORD"] = "holy-grail-2"
	base, stop2 := startExample(t, env)
	defer stop2()
	if r = call(t, "GET", base+"/users/me", "", "", tok); r.code != 200 || r.body["last_name"] != "Pendragon" {
		t.Fatalf("after restart GET /users/me = %d %s", r.code, r.raw)
	}
	login(t, base, "admin@camelot.bt", "holy-grail-2")
}

func TestExampleRandomSecretWarns(t *testing.T) {
	var logs strings.Builder
	getenv := func(k string) string {
		return map[string]string{"DATA_DIR": t.TempDir()}[k]
	}
	a, err := newApp(t.Context(), getenv, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if !strings.Contains(logs.String(), "SECRET is not set") {
		t.Fatalf("logs = %q, want a warning about the random secret", logs.String())
	}
}

func TestExampleSendsMail(t *testing.T) {
	srv := smtptest.NewServer(t)
	env := map[string]string{
		"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(),
		"SECRET":     "an example secret that is long enough to sign",
		"PUBLIC_URL": "https://app.example.com",
		"SMTP_HOST":  srv.Host(), "SMTP_PORT": strconv.Itoa(srv.Port()), "SMTP_FROM": "noreply@camelot.bt",
	}
	base, stop := startExample(t, env)
	defer stop()
	if r := call(t, "POST", base+"/auth/register", "application/json", `{"email": "King.Arthur@camelot.bt", "password": "guinevere"}`, ""); r.code != 201 {
		t.Fatalf("register = %d %s", r.code, r.raw)
	}
	tokenRE := regexp.MustCompile(`(?m)^token=(\S+)\r?$`)
	wait := func(want string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		msg, err := srv.WaitMessage(ctx)
		if err != nil {
			t.Fatalf("no e-mail arrived: %v", err)
		}
		if len(msg.To) != 1 || msg.To[0] != "King.Arthur@camelot.bt" {
			t.Fatalf("e-mail to %v, want the stored address", msg.To)
		}
		if !strings.Contains(msg.Data, want) {
			t.Fatalf("e-mail lacks %q:\n%s", want, msg.Data)
		}
		m := tokenRE.FindStringSubmatch(msg.Data)
		if m == nil {
			t.Fatalf("e-mail has no token= line:\n%s", msg.Data)
		}
		return m[1]
	}

	if r := call(t, "POST", base+"/auth/request-verify-token", "application/json", `{"email": "king.arthur@camelot.bt"}`, ""); r.code != 202 || r.raw != "null" {
		t.Fatalf("request-verify-token = %d %s", r.code, r.raw)
	}
	tok := wait("https://app.example.com/verify?token=")
	if r := call(t, "POST", base+"/auth/verify", "application/json", `{"token": "`+tok+`"}`, ""); r.code != 200 || r.body["is_verified"] != true {
		t.Fatalf("verify = %d %s", r.code, r.raw)
	}

	// A request with a forged Host still links to PUBLIC_URL.
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/auth/forgot-password", strings.NewReader(`{"email": "king.arthur@camelot.bt"}`))
	req.Host = "evil.example"
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("forgot-password = %d", resp.StatusCode)
	}
	tok = wait("https://app.example.com/reset-password?token=")
	if r := call(t, "POST", base+"/auth/reset-password", "application/json", `{"token": "`+tok+`", "password": "excalibur"}`, ""); r.code != 200 || r.raw != "null" {
		t.Fatalf("reset-password = %d %s", r.code, r.raw)
	}
	login(t, base, "king.arthur@camelot.bt", "excalibur")
}

func TestExampleMailFailureKeeps202(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.WithFailure("DATA", 554))
	var logs syncBuffer
	env := map[string]string{
		"DATA_DIR": t.TempDir(), "SECRET": "an example secret that is long enough to sign",
		"SMTP_HOST": srv.Host(), "SMTP_PORT": strconv.Itoa(srv.Port()),
	}
	a, err := newApp(t.Context(), func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if _, err := a.manager.Register(t.Context(), ginusers.UserCreate[Profile]{Email: "king.arthur@camelot.bt", Password: "guinevere"}); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/auth/forgot-password", strings.NewReader(`{"email": "king.arthur@camelot.bt"}`))
	r.Header.Set("Content-Type", "application/json")
	a.engine.ServeHTTP(w, r)
	a.manager.Wait()
	if w.Code != 202 || w.Body.String() != "null" {
		t.Fatalf("forgot-password with a failing SMTP server = %d %s, want 202 null", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "forgot-password failed") {
		t.Fatalf("the mail failure was not logged: %s", logs.String())
	}
}

// syncBuffer is a strings.Builder safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

func TestMain(m *testing.M) {
	serveFerretDBIfAsked()
	os.Exit(redistest.Run(m))
}

// TestExampleBackends logs in through each backend of the example and uses
// the token on /users/me and /authenticated-route.
func TestExampleBackends(t *testing.T) {
	env := map[string]string{
		"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(),
		"SECRET":    "an example secret that is long enough to sign",
		"REDIS_URL": redistest.URL(t),
	}
	base, stop := startExample(t, env)
	defer stop()
	if r := call(t, "POST", base+"/auth/register", "application/json", `{"email": "king.arthur@camelot.bt", "password": "guinevere"}`, ""); r.code != 201 {
		t.Fatalf("register = %d %s", r.code, r.raw)
	}
	form := url.Values{"username": {"king.arthur@camelot.bt"}, "password": {"guinevere"}}.Encode()

	// Cookie + database tokens.
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/auth/cookie/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != 204 || len(cookies) != 1 || cookies[0].Name != "ginusersauth" || !cookies[0].Secure || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie login = %d %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	withCookie := func(method, path string) int {
		req, _ := http.NewRequestWithContext(t.Context(), method, base+path, nil)
		req.AddCookie(cookies[0])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := withCookie("GET", "/authenticated-route"); code != 200 {
		t.Fatalf("authenticated-route with the cookie = %d", code)
	}
	if code := withCookie("POST", "/auth/cookie/logout"); code != 204 {
		t.Fatalf("cookie logout = %d", code)
	}
	if code := withCookie("GET", "/users/me"); code != 401 {
		t.Fatalf("/users/me after cookie logout = %d, want 401", code)
	}

	// Bearer + Redis tokens.
	r := call(t, "POST", base+"/auth/redis/login", "application/x-www-form-urlencoded", form, "")
	tok, _ := r.body["access_token"].(string)
	if r.code != 200 || len(tok) != 43 {
		t.Fatalf("redis login = %d %s", r.code, r.raw)
	}
	if r = call(t, "GET", base+"/users/me", "", "", tok); r.code != 200 {
		t.Fatalf("/users/me with a Redis token = %d", r.code)
	}
	if r = call(t, "POST", base+"/auth/redis/logout", "", "", tok); r.code != 204 {
		t.Fatalf("redis logout = %d", r.code)
	}
	if r = call(t, "GET", base+"/users/me", "", "", tok); r.code != 401 {
		t.Fatalf("/users/me after redis logout = %d, want 401", r.code)
	}

	// Log out everywhere ends the Redis sessions too.
	r = call(t, "POST", base+"/auth/redis/login", "application/x-www-form-urlencoded", form, "")
	tok, _ = r.body["access_token"].(string)
	jwt := login(t, base, "king.arthur@camelot.bt", "guinevere")
	if r = call(t, "POST", base+"/auth/logout-all", "", "", jwt); r.code != 204 {
		t.Fatalf("logout-all = %d %s", r.code, r.raw)
	}
	if r = call(t, "GET", base+"/users/me", "", "", tok); r.code != 401 {
		t.Fatalf("/users/me with a Redis token after logout-all = %d, want 401", r.code)
	}
}
