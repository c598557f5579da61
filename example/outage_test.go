package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/mongostore/embedded"
)

// ferretDBEnv, when set to "addr|dir" in the environment of this test
// binary, makes it a FerretDB server instead of a test run: see
// [serveFerretDBIfAsked].
const ferretDBEnv = "GINUSERS_TEST_FERRETDB"

// serveFerretDBIfAsked returns at once unless GINUSERS_TEST_FERRETDB is
// set. Then it serves FerretDB on that TCP address over the SQLite files
// of that directory until it is killed or its standard input ends (the
// test that started it has died), and exits without running tests. Call it
// first in TestMain.
func serveFerretDBIfAsked() {
	v := os.Getenv(ferretDBEnv)
	if v == "" {
		return
	}
	addr, dir, ok := strings.Cut(v, "|")
	if !ok {
		fmt.Fprintf(os.Stderr, "%s=%q, want addr|dir\n", ferretDBEnv, v)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := embedded.Start(context.Background(), embedded.WithAddr(addr), embedded.WithDir(dir), embedded.WithLogger(logger))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Stop()
	os.Exit(0)
}

// ferretDBProcess is a FerretDB server in a child process: this test
// binary, re-executed with GINUSERS_TEST_FERRETDB.
type ferretDBProcess struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	stderr *syncBuffer
	exited chan struct{}
}

// startFerretDB starts a FerretDB process on addr over dir and waits until
// it accepts connections.
func startFerretDB(t *testing.T, addr, dir string) *ferretDBProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ferretDBEnv+"="+addr+"|"+dir)
	p := &ferretDBProcess{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		t.Fatalf("start FerretDB process: %v", err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("the FerretDB process exited before listening on %s: %s", addr, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the FerretDB process did not listen on %s within 60 s: %s", addr, p.stderr.String())
		}
	}
}

// kill sends SIGKILL and waits (at most 10 s) for the process to be gone.
func (p *ferretDBProcess) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}

// freeAddr returns a loopback TCP address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startExampleLogged is startExample with the example's log kept in logs.
func startExampleLogged(t *testing.T, env map[string]string, logs io.Writer) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(logs, nil)), defaultLimits(), ready)
	}()
	select {
	case addr := <-ready:
		base := "http://" + addr
		forget := useSpec(t, base)
		var once sync.Once
		return base, func() {
			once.Do(func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("run() after shutdown = %v, want nil", err)
					}
				case <-time.After(30 * time.Second):
					t.Errorf("run() did not return within 30 s of shutdown")
				}
				forget()
			})
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

// answer is one request made by the test, as its client saw it.
type answer struct {
	path       string
	start, end time.Time
	code       int
	retryAfter string
	body       string
	err        error
}

func (a answer) took() time.Duration { return a.end.Sub(a.start) }

func (a answer) String() string {
	return fmt.Sprintf("%s at %s: %d %q (Retry-After %q, %v) err=%v",
		a.path, a.start.Format("15:04:05.000"), a.code, a.body, a.retryAfter, a.took().Round(time.Millisecond), a.err)
}

// do makes one request with a client whose timeout fails a hang.
func do(hc *http.Client, method, u, contentType, body, token string) answer {
	a := answer{path: method + " " + strings.TrimPrefix(u, "http://"), start: time.Now()}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		a.err, a.end = err, time.Now()
		return a
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		a.err, a.end = err, time.Now()
		return a
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a.end, a.code, a.body, a.err = time.Now(), resp.StatusCode, string(b), err
	a.retryAfter = resp.Header.Get("Retry-After")
	return a
}

// answers collects the answers of concurrent clients.
type answers struct {
	mu  sync.Mutex
	all []answer
}

func (s *answers) add(a answer) {
	s.mu.Lock()
	s.all = append(s.all, a)
	s.mu.Unlock()
}

func (s *answers) snapshot() []answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.all)
}

const (
	// outageBound is how long a request that needs the database may take
	// while the database is down: the default MONGODB_TIMEOUT (2 s) and
	// some slack for a loaded 2-core machine under -race.
	outageBound = 2500 * time.Millisecond
	// retryAfter is the Retry-After of every 503.
	retryAfter = "5"
)

const unavailableBody = `{"detail":"Service Unavailable"}`

// TestOutageFailsFastAndRecovers runs the example on a FerretDB server in
// another process, kills that process with SIGKILL while 8 clients call
// /users/me, and checks that requests fail fast with 503 while it is down,
// that goroutines do not pile up, and that after a restart on the same
// port and files the example recovers with every acknowledged
// registration kept.
func TestOutageFailsFastAndRecovers(t *testing.T) {
	addr, dir := freeAddr(t), t.TempDir()
	db := startFerretDB(t, addr, dir)
	var logs syncBuffer
	base, stop := startExampleLogged(t, map[string]string{
		"ADDR": "127.0.0.1:0", "MONGODB_URI": "mongodb://" + addr + "/",
		"SECRET":      "an example secret that is long enough to sign",
		"ADMIN_EMAIL": "admin@camelot.bt", "ADMIN_PASSWORD": "holy-grail-1",
	}, &logs)
	defer stop()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: specTransport(t, &http.Transport{MaxIdleConnsPerHost: 32})}
	defer hc.CloseIdleConnections()

	if a := do(hc, "GET", base+"/health", "", "", ""); a.code != 200 || a.body != `{"status":"ok","database":"up"}` {
		t.Fatalf("before the outage: %v, want 200 ok/up", a)
	}

	// Users registered before the outage, and their tokens.
	var regMu sync.Mutex
	registered := map[string]string{} // id -> e-mail, for every 201
	register := func(email string) answer {
		a := do(hc, "POST", base+"/auth/register", "application/json", `{"email": "`+email+`", "password": "guinevere"}`, "")
		if a.code == 201 {
			var u struct{ ID, Email string }
			if err := json.Unmarshal([]byte(a.body), &u); err != nil || u.ID == "" {
				t.Errorf("register %s: %v: %v", email, a, err)
			}
			regMu.Lock()
			registered[u.ID] = u.Email
			regMu.Unlock()
		}
		return a
	}
	var tokens []string
	for i := range 4 {
		email := fmt.Sprintf("knight%d@camelot.bt", i)
		if a := register(email); a.code != 201 {
			t.Fatalf("register %s: %v", email, a)
		}
		a := do(hc, "POST", base+"/auth/jwt/login", "application/x-www-form-urlencoded", url.Values{"username": {email}, "password": {"guinevere"}}.Encode(), "")
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if a.code != 200 || json.Unmarshal([]byte(a.body), &tok) != nil {
			t.Fatalf("login %s: %v", email, a)
		}
		tokens = append(tokens, tok.AccessToken)
	}
	hc.CloseIdleConnections()
	goroutinesBefore := runtime.NumGoroutine()

	// The load: 8 clients on /users/me and one registering users, until
	// stopLoad is closed.
	var me, regs answers
	stopLoad := make(chan struct{})
	var load sync.WaitGroup
	for i := range 8 {
		load.Go(func() {
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				me.add(do(hc, "GET", base+"/users/me", "", "", tokens[i%len(tokens)]))
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	load.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stopLoad:
				return
			default:
			}
			regs.add(register(fmt.Sprintf("squire%d@camelot.bt", i)))
		}
	})
	stopped := false
	stopTheLoad := func() {
		if stopped {
			return
		}
		stopped = true
		close(stopLoad)
		done := make(chan struct{})
		go func() { load.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the load clients did not stop within 30 s")
		}
	}
	defer stopTheLoad()

	// maxGoroutines samples the goroutine count for d and returns the maximum.
	maxGoroutines := func(d time.Duration) int {
		n := 0
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			n = max(n, runtime.NumGoroutine())
		}
		return n
	}
	goroutinesUnderLoad := maxGoroutines(1500 * time.Millisecond)
	if n := len(me.snapshot()); n < 8 {
		t.Fatalf("only %d requests on /users/me in 1.5 s before the outage", n)
	}

	// The outage.
	db.kill()
	downFrom := time.Now()
	regMu.Lock()
	acknowledged := len(registered)
	regMu.Unlock()
	health := do(hc, "GET", base+"/health", "", "", "")
	if health.code != 503 || health.body != `{"status":"unavailable","database":"down"}` || health.retryAfter != retryAfter || health.took() > outageBound {
		t.Errorf("/health during the outage: %v, want 503 unavailable/down with Retry-After %s within %v", health, retryAfter, outageBound)
	}
	goroutinesInOutage := maxGoroutines(5 * time.Second)
	downUntil := time.Now()

	// The restart, on the same port and files.
	db = startFerretDB(t, addr, dir)
	listening := time.Since(downUntil)
	var firstOK time.Duration
	for deadline := time.Now().Add(15 * time.Second); firstOK == 0; time.Sleep(20 * time.Millisecond) {
		for _, a := range me.snapshot() {
			if a.start.After(downUntil) && a.code == 200 {
				firstOK = a.end.Sub(downUntil)
				break
			}
		}
		if firstOK == 0 && time.Now().After(deadline) {
			t.Fatalf("no 200 on /users/me within 15 s of the restart")
		}
	}
	if firstOK > 5*time.Second {
		t.Errorf("first 200 on /users/me %v after the restart began, want within 5 s", firstOK)
	}
	var healthUp answer
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if healthUp = do(hc, "GET", base+"/health", "", "", ""); healthUp.code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health after the restart: %v, want 200 within 15 s", healthUp)
		}
	}
	if healthUp.body != `{"status":"ok","database":"up"}` {
		t.Errorf("/health after the restart: %v, want ok/up", healthUp)
	}
	time.Sleep(500 * time.Millisecond) // some requests after recovery
	stopTheLoad()

	// Every request was answered, with 200 or 503 (never a 500, never a
	// hang); those that started while the database was down failed fast.
	var outage []time.Duration
	for _, a := range append(me.snapshot(), regs.snapshot()...) {
		isMe := strings.Contains(a.path, "/users/me")
		switch {
		case a.err != nil:
			t.Errorf("no answer: %v", a)
		case a.code == 503:
			if a.body != unavailableBody || a.retryAfter != retryAfter {
				t.Errorf("503 without fastapi-users' body or Retry-After %s: %v", retryAfter, a)
			}
		case isMe && a.code == 200, !isMe && a.code == 201:
		default:
			t.Errorf("unexpected answer: %v", a)
		}
		if a.start.Before(downFrom) || a.start.After(downUntil) {
			continue
		}
		// A registration that outlived the outage also hashed a password:
		// what counts is how long it waited while the database was down.
		waited := a.took()
		if a.end.After(downUntil) {
			waited = downUntil.Sub(a.start)
		}
		if waited > outageBound || (a.code == 503 || isMe) && a.took() > outageBound {
			t.Errorf("started during the outage and took longer than %v: %v", outageBound, a)
		}
		if a.end.Before(downUntil) && a.code != 503 {
			t.Errorf("started and ended during the outage, want 503: %v", a)
		}
		if isMe && a.code == 503 {
			outage = append(outage, a.took())
		}
	}
	if len(outage) < 8 {
		t.Errorf("only %d requests on /users/me failed during the outage, want at least 8", len(outage))
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the example logged errors; an outage is logged at WARN:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("the example logged no warning during the outage")
	}

	// No pile-up: the outage added few goroutines to those of the load,
	// and once the load is gone the count returns to where it was.
	if goroutinesInOutage > goroutinesUnderLoad+40 {
		t.Errorf("goroutines: %d under load, up to %d during the outage, want at most 40 more", goroutinesUnderLoad, goroutinesInOutage)
	}
	hc.CloseIdleConnections()
	goroutinesAfter := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); goroutinesAfter > goroutinesBefore+5 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		goroutinesAfter = runtime.NumGoroutine()
	}
	if goroutinesAfter > goroutinesBefore+5 {
		t.Errorf("goroutines: %d before the load, %d after it, want at most 5 more", goroutinesBefore, goroutinesAfter)
	}

	// Every registration acknowledged before the kill, or after it, is
	// still there.
	a := do(hc, "POST", base+"/auth/jwt/login", "application/x-www-form-urlencoded", url.Values{"username": {"admin@camelot.bt"}, "password": {"holy-grail-1"}}.Encode(), "")
	var admin struct {
		AccessToken string `json:"access_token"`
	}
	if a.code != 200 || json.Unmarshal([]byte(a.body), &admin) != nil {
		t.Fatalf("admin login after the restart: %v", a)
	}
	regMu.Lock()
	defer regMu.Unlock()
	for id, email := range registered {
		a := do(hc, "GET", base+"/users/"+id, "", "", admin.AccessToken)
		var u struct{ Email string }
		if a.code != 200 || json.Unmarshal([]byte(a.body), &u) != nil || u.Email != email {
			t.Errorf("registered user %s (%s) after the restart: %v", id, email, a)
		}
	}

	slices.Sort(outage)
	if len(outage) > 0 {
		t.Logf("outage: %d requests on /users/me failed with 503 in %v (median) to %v (max); /health said down in %v",
			len(outage), outage[len(outage)/2].Round(time.Millisecond), outage[len(outage)-1].Round(time.Millisecond), health.took().Round(time.Millisecond))
	}
	t.Logf("recovery: FerretDB listening %v after the restart began, first 200 on /users/me after %v",
		listening.Round(time.Millisecond), firstOK.Round(time.Millisecond))
	t.Logf("goroutines: %d before the load, %d under load, %d at most during the outage, %d after",
		goroutinesBefore, goroutinesUnderLoad, goroutinesInOutage, goroutinesAfter)
	t.Logf("registrations: %d acknowledged before the kill, %d in all, all kept", acknowledged, len(registered))
}

func TestMongoTimeout(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		want        time.Duration
		wantErr     bool
	}{
		{"unset is 2 s", "", 2 * time.Second, false},
		{"a Go duration", "1500ms", 1500 * time.Millisecond, false},
		{"not a duration", "2", 0, true},
		{"zero", "0s", 0, true},
		{"negative", "-1s", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mongoTimeout(func(k string) string { return map[string]string{"MONGODB_TIMEOUT": tt.value}[k] })
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("mongoTimeout(%q) = %v, %v; want %v, error %v", tt.value, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
