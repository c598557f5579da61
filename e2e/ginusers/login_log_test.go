package ginusers_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ginusers/kit/ginusers"
)

// logBuffer collects the JSON lines of a slog handler, safely for
// concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the logged records whose message is msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec[slog.MessageKey] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// TestFailedLoginIsLogged: a failed login leaves an INFO record with the
// normalised e-mail that was tried and the client's IP as Gin resolves it
// with the app's trusted proxies, and never the password. httptest's
// requests come from 192.0.2.1, which plays the proxy.
func TestFailedLoginIsLogged(t *testing.T) {
	const password = "Excalibur-never-logged-7431"
	for _, tt := range []struct {
		name      string
		trusted   []string // engine.SetTrustedProxies
		forwarded string   // X-Forwarded-For
		wantIP    string
	}{
		{"with no trusted proxy, X-Forwarded-For is ignored and the peer is logged", nil, "203.0.113.7", "192.0.2.1"},
		{"with no trusted proxy and no X-Forwarded-For, the peer is logged", nil, "", "192.0.2.1"},
		{"with the proxy trusted, the forwarded client is logged", []string{"192.0.2.1"}, "203.0.113.7", "203.0.113.7"},
		{"with the proxy trusted, a client's own forged entries are not logged", []string{"192.0.2.0/24"}, "198.51.100.66, 203.0.113.7", "203.0.113.7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			a := newApp(t, ginusers.WithLogger(logger))
			if err := a.engine.SetTrustedProxies(tt.trusted); err != nil {
				t.Fatalf("SetTrustedProxies(%v) error = %v", tt.trusted, err)
			}
			a.user("king.arthur@camelot.bt", true, false, false)
			a.user("inactive@camelot.bt", false, false, false)

			for _, try := range []struct{ name, username, wantEmail string }{
				{"a wrong password", " King.Arthur@CAMELOT.BT ", "King.Arthur@camelot.bt"},
				{"an unknown address", "Nobody@Camelot.BT", "Nobody@camelot.bt"},
				{"an inactive user", "inactive@camelot.bt", "inactive@camelot.bt"},
			} {
				var headers []string
				if tt.forwarded != "" {
					headers = []string{"X-Forwarded-For", tt.forwarded}
				}
				before := len(logs.records(t, "ginusers: login failed"))
				r := a.req("POST", "/auth/jwt/login", form(try.username, password), headers...)
				wantDetail(t, r, http.StatusBadRequest, "LOGIN_BAD_CREDENTIALS")
				recs := logs.records(t, "ginusers: login failed")
				if len(recs) != before+1 {
					t.Fatalf("%s: %d new \"ginusers: login failed\" records, want 1; log:\n%s", try.name, len(recs)-before, logs)
				}
				rec := recs[len(recs)-1]
				if rec[slog.LevelKey] != "INFO" || rec["email"] != try.wantEmail || rec["client_ip"] != tt.wantIP {
					t.Fatalf("%s: logged level %v, email %v, client_ip %v; want INFO, %q, %q", try.name, rec[slog.LevelKey], rec["email"], rec["client_ip"], try.wantEmail, tt.wantIP)
				}
			}
			for line := range strings.Lines(logs.String()) {
				if strings.Contains(line, password) {
					t.Fatalf("a log line holds the password: %s", line)
				}
			}
		})
	}
}
