package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/mail/smtptest"
	"github.com/ginusers/kit/mongostore/embedded"
	"github.com/ginusers/kit/redisstore/redistest"
)

// startExample runs the example as `go run ./example` would, on an
// embedded FerretDB in dir, and returns its base URL and a stop function.
// It loads the OpenAPI document the example serves: the exchanges of
// [apiClient] with it are checked against that document.
func startExample(t *testing.T, env map[string]string) (string, func()) {
	t.Helper()
	return startExampleWith(t, env, slog.New(slog.DiscardHandler), defaultLimits())
}

// startExampleWith is startExample with a logger and connection limits.
func startExampleWith(t *testing.T, env map[string]string, logger *slog.Logger, lim limits) (string, func()) {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, getenv, logger, lim, ready) }()
	select {
	case addr := <-ready:
		base := "http://" + addr
		forget := useSpec(t, base)
		stopped := false
		return base, func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run() after shutdown = %v, want nil", err)
			}
			forget()
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
	resp, err := apiClient(t).Do(req)
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
	r := tryLogin(t, base, email, password)
	if r.code != 200 {
		t.Fatalf("login %s = %d %s", email, r.code, r.raw)
	}
	return r.body["access_token"].(string)
}

func tryLogin(t *testing.T, base, email, password string) result {
	t.Helper()
	return call(t, "POST", base+"/auth/jwt/login", "application/x-www-form-urlencoded", url.Values{"username": {email}, "password": {password}}.Encode(), "")
}

// hasLogLine reports whether a line of logs (slog's text format) has the
// level and contains every one of parts.
func hasLogLine(logs, level string, parts ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		ok := strings.Contains(line, "level="+level+" ")
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestExampleEndToEnd(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"ADDR": "127.0.0.1:0", "DATA_DIR": dir,
		"SECRET":      "an example secret that is long enough to sign",
		"ADMIN_EMAIL": "admin@camelot.bt", "ADMIN_PASSWORD": "holy-grail-1",
	}
	var logs syncBuffer
	base, stop := startExampleWith(t, env, slog.New(slog.NewTextHandler(&logs, nil)), defaultLimits())
	defer stop()
	if !hasLogLine(logs.String(), "INFO", "admin created from ADMIN_EMAIL", "email=admin@camelot.bt") {
		t.Errorf("the admin's creation was not logged:\n%s", logs.String())
	}

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

	// A restart on the same files keeps the users and the secret's tokens.
	// The admin exists, so the bootstrap changes nothing: a new
	// ADMIN_PASSWORD is ignored, and the log says so.
	env["ADMIN_PASSWORD"] = "holy-grail-2"
	var logs2 syncBuffer
	base, stop2 := startExampleWith(t, env, slog.New(slog.NewTextHandler(&logs2, nil)), defaultLimits())
	defer stop2()
	if r = call(t, "GET", base+"/users/me", "", "", tok); r.code != 200 || r.body["last_name"] != "Pendragon" {
		t.Fatalf("after restart GET /users/me = %d %s", r.code, r.raw)
	}
	login(t, base, "admin@camelot.bt", "holy-grail-1")
	if r = tryLogin(t, base, "admin@camelot.bt", "holy-grail-2"); r.code != 400 {
		t.Fatalf("login with the new ADMIN_PASSWORD = %d %s, want 400: the bootstrap changed a password", r.code, r.raw)
	}
	if !hasLogLine(logs2.String(), "INFO", "existing superuser", "ADMIN_PASSWORD is ignored") {
		t.Errorf("the ignored ADMIN_PASSWORD was not logged:\n%s", logs2.String())
	}
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
	resp, err := apiClient(t).Do(req)
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
	r := httptest.NewRequest("POST", "/auth/forgot-password", strings.NewReader(`{"email": "king.arthur@camelot.bt"}`))
	r.Header.Set("Content-Type", "application/json")
	w := serveChecked(t, a.engine, r)
	waitCtx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := a.manager.WaitDeliveries(waitCtx); err != nil {
		t.Fatal(err)
	}
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
	resp, err := apiClient(t).Do(req)
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
		resp, err := apiClient(t).Do(req)
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

// TestExampleAdminBootstrapNeverTakesOver registers ADMIN_EMAIL as an
// ordinary user (as an attacker could once the admin has moved to another
// address), then starts the example with ADMIN_EMAIL and ADMIN_PASSWORD:
// the account must stay an ordinary user with its own password.
func TestExampleAdminBootstrapNeverTakesOver(t *testing.T) {
	for _, tt := range []struct{ name, registered string }{
		{"the same address", "admin@example.com"},
		{"the address in another case", "ADMIN@example.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{
				"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(),
				"SECRET": "an example secret that is long enough to sign",
			}
			base, stop := startExample(t, env)
			r := call(t, "POST", base+"/auth/register", "application/json", `{"email": "`+tt.registered+`", "password": "mallory-pw"}`, "")
			if r.code != 201 {
				t.Fatalf("register = %d %s", r.code, r.raw)
			}
			id := r.body["id"].(string)
			tok := login(t, base, tt.registered, "mallory-pw")
			stop()

			env["ADMIN_EMAIL"], env["ADMIN_PASSWORD"] = "admin@example.com", "admin-password-1"
			var logs syncBuffer
			base, stop = startExampleWith(t, env, slog.New(slog.NewTextHandler(&logs, nil)), defaultLimits())
			defer stop()
			if r = call(t, "GET", base+"/users/"+id, "", "", tok); r.code != 403 {
				t.Errorf("GET /users/{id} with the registered user's token = %d %s, want 403", r.code, r.raw)
			}
			if r = call(t, "GET", base+"/users/me", "", "", tok); r.code != 200 || r.body["is_superuser"] != false || r.body["is_verified"] != false {
				t.Errorf("GET /users/me = %d %s, want an unverified ordinary user", r.code, r.raw)
			}
			login(t, base, "admin@example.com", "mallory-pw")
			if r = tryLogin(t, base, "admin@example.com", "admin-password-1"); r.code != 400 {
				t.Errorf("login with ADMIN_PASSWORD = %d %s, want 400", r.code, r.raw)
			}
			if !hasLogLine(logs.String(), "WARN", "not a superuser", "left as it is", "user_id="+id) {
				t.Errorf("no warning about the account:\n%s", logs.String())
			}
		})
	}
}

// racingAccounts is a manager whose first GetByEmail lets someone register
// the address just before it answers "not found": a registration that
// lands between the bootstrap's lookup and its Create.
type racingAccounts struct {
	*ginusers.Manager[Profile]
	raced bool
}

func (r *racingAccounts) GetByEmail(ctx context.Context, email string) (*User, error) {
	if !r.raced {
		r.raced = true
		if _, err := r.Manager.Register(ctx, ginusers.UserCreate[Profile]{Email: strings.ToUpper(email), Password: "mallory-pw"}); err != nil {
			return nil, err
		}
		return nil, ginusers.ErrUserNotFound
	}
	return r.Manager.GetByEmail(ctx, email)
}

func TestEnsureAdminLosesRaceToRegistration(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "SECRET": "an example secret that is long enough to sign"}
	a, err := newApp(t.Context(), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	var logs syncBuffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := ensureAdmin(ctx, &racingAccounts{Manager: a.manager}, slog.New(slog.NewTextHandler(&logs, nil)), "admin@example.com", "admin-password-1"); err != nil {
		t.Fatalf("ensureAdmin() = %v, want nil", err)
	}
	u, err := a.manager.GetByEmail(ctx, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.Superuser || u.Verified {
		t.Errorf("the racing registration became superuser %v, verified %v; want neither", u.Superuser, u.Verified)
	}
	if _, err := a.manager.Authenticate(ctx, "admin@example.com", "mallory-pw"); err != nil {
		t.Errorf("Authenticate() with the registered password = %v", err)
	}
	if !hasLogLine(logs.String(), "WARN", "not a superuser", "left as it is") {
		t.Errorf("no warning about the account:\n%s", logs.String())
	}
}

// TestExampleUsesPrivateSocket checks that the example reaches its
// embedded database through a socket in DATA_DIR that only its owner can
// use, and that the HTTP port is its only TCP listener.
func TestExampleUsesPrivateSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"ADDR": "127.0.0.1:0", "DATA_DIR": dir, "SECRET": "an example secret that is long enough to sign"}
	before := listeningTCP(t)
	base, stop := startExample(t, env)
	defer stop()
	sock := filepath.Join(dir, embedded.SocketName)
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("Lstat(%s) = %v, %v; want a socket with mode 0600", sock, fi, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("DATA_DIR mode = %v, %v; want 0700", fi, err)
	}
	var added []string
	for a := range listeningTCP(t) {
		if !before[a] {
			added = append(added, a)
		}
	}
	if len(added) != 1 {
		t.Errorf("the example listens on TCP %v, want only its HTTP port", added)
	}
	if r := call(t, "POST", base+"/auth/register", "application/json", `{"email": "king.arthur@camelot.bt", "password": "guinevere"}`, ""); r.code != 201 {
		t.Fatalf("register = %d %s", r.code, r.raw)
	}
}

// listeningTCP returns the local addresses of the listening TCP sockets
// that this process holds, read from /proc.
func listeningTCP(t *testing.T) map[string]bool {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads the process's sockets from /proc")
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			mine[strings.TrimSuffix(inode, "]")] = true
		}
	}
	listening := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && f[3] == "0A" && mine[f[9]] { // 0A: TCP_LISTEN
				listening[f[1]] = true
			}
		}
	}
	return listening
}

func TestDefaultLimits(t *testing.T) {
	srv := newServer(http.NotFoundHandler(), defaultLimits())
	for _, tt := range []struct {
		name      string
		got, want time.Duration
	}{
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout, 5 * time.Second},
		{"ReadTimeout", srv.ReadTimeout, 15 * time.Second},
		{"WriteTimeout", srv.WriteTimeout, 30 * time.Second},
		{"IdleTimeout", srv.IdleTimeout, 60 * time.Second},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if srv.MaxHeaderBytes != 64<<10 {
		t.Errorf("MaxHeaderBytes = %d, want %d", srv.MaxHeaderBytes, 64<<10)
	}
}

// TestExampleCutsOffSlowClients talks to the running example over raw TCP
// with short limits.
func TestExampleCutsOffSlowClients(t *testing.T) {
	const margin = 3 * time.Second
	env := map[string]string{"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(), "SECRET": "an example secret that is long enough to sign"}
	dial := func(t *testing.T, base string) net.Conn {
		t.Helper()
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	// waitClosed reads until the server closes conn, and fails t if it is
	// still open after within.
	waitClosed := func(t *testing.T, conn net.Conn, r io.Reader, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		_ = conn.SetReadDeadline(start.Add(within))
		_, err := io.Copy(io.Discard, r)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			conn.Close() // so that the example can shut down
			t.Fatalf("the connection is still open after %v", within)
		}
		return time.Since(start)
	}

	t.Run("a body trickled slower than the read timeout", func(t *testing.T) {
		lim := defaultLimits()
		lim.readHeader, lim.read = 500*time.Millisecond, time.Second
		base, stop := startExampleWith(t, env, slog.New(slog.DiscardHandler), lim)
		defer stop()
		conn := dial(t, base)
		if _, err := io.WriteString(conn, "POST /auth/register HTTP/1.1\r\nHost: example\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		stopTrickle := make(chan struct{})
		defer close(stopTrickle)
		go func() { // a byte every 100 ms: the body would take 100 s
			for {
				select {
				case <-stopTrickle:
					return
				case <-time.After(100 * time.Millisecond):
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
		if d := waitClosed(t, conn, conn, lim.read+margin); d < lim.read/2 {
			t.Errorf("the connection closed after %v, before the read timeout", d)
		}
	})

	t.Run("an idle keep-alive connection", func(t *testing.T) {
		lim := defaultLimits()
		lim.idle = 500 * time.Millisecond // ReadTimeout stays 15 s
		base, stop := startExampleWith(t, env, slog.New(slog.DiscardHandler), lim)
		defer stop()
		conn := dial(t, base)
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, "GET /users/me HTTP/1.1\r\nHost: example\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Close {
			t.Fatalf("GET /users/me = %d, close %v; want 401 on a kept-alive connection", resp.StatusCode, resp.Close)
		}
		if d := waitClosed(t, conn, br, lim.idle+margin); d < lim.idle/2 {
			t.Errorf("the connection closed after %v, before the idle timeout", d)
		}
	})

	t.Run("headers over the default 64 KiB", func(t *testing.T) {
		base, stop := startExample(t, env)
		defer stop()
		for _, tt := range []struct {
			name string
			size int
			want int
		}{
			{"48 KiB of headers pass", 48 << 10, 401},
			{"80 KiB of headers get 431", 80 << 10, 431},
		} {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/users/me", nil)
			req.Header.Set("X-Padding", strings.Repeat("a", tt.size))
			resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: specTransport(t, http.DefaultTransport)}).Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s: GET /users/me = %d, want %d", tt.name, resp.StatusCode, tt.want)
			}
		}
	})
}
