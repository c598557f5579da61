package ginusers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var codecSecret = []byte("0123456789abcdef0123456789abcdef")

// fakeClock is a settable clock.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func newTestCodec(t *testing.T, secret []byte, aud string, clock *fakeClock) *tokenCodec {
	t.Helper()
	tc, err := newTokenCodec(secret, aud, time.Hour)
	if err != nil {
		t.Fatalf("newTokenCodec() error = %v", err)
	}
	tc.clock = clock.Now
	return tc
}

func TestTokenCodecLifetime(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: t0}
	tc := newTestCodec(t, codecSecret, AudienceVerify, clock)
	tok, err := tc.issue("user-1", map[string]any{"email": "a@example.com"})
	if err != nil {
		t.Fatalf("issue() error = %v", err)
	}
	tests := []struct {
		name        string
		at          time.Time
		wantErr     bool
		wantExpired bool
	}{
		{"a token is valid when issued", t0, false, false},
		{"a token is valid one second before it expires", t0.Add(time.Hour - time.Second), false, false},
		{"a token is expired at its exp", t0.Add(time.Hour), true, true},
		{"a token is expired a day later", t0.Add(24 * time.Hour), true, true},
		{"a token is valid a minute before it was issued (clock skew)", t0.Add(-time.Minute), false, false},
		{"a token is refused more than a minute before it was issued", t0.Add(-time.Minute - time.Second), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.now = tt.at
			c, err := tc.parse(tok)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidToken) || errors.Is(err, errTokenExpired) != tt.wantExpired {
					t.Fatalf("parse() error = %v, want ErrInvalidToken (expired: %v)", err, tt.wantExpired)
				}
				return
			}
			if err != nil || c.Sub != "user-1" || c.Email != "a@example.com" {
				t.Fatalf("parse() = %+v, %v, want sub user-1 and email a@example.com", c, err)
			}
		})
	}
}

func TestTokenCodecExpiredAndForged(t *testing.T) {
	// CVE-2024-51744 (golang-jwt): a token both expired and badly signed
	// reported the expiry too, and callers that looked only at that
	// accepted forged tokens. A bad signature must not look like expiry.
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: t0}
	other := newTestCodec(t, []byte("fedcba9876543210fedcba9876543210"), AudienceAuth, clock)
	forged, err := other.issue("user-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := newTestCodec(t, codecSecret, AudienceAuth, clock)
	clock.now = t0.Add(2 * time.Hour)
	_, err = tc.parse(forged)
	if !errors.Is(err, ErrInvalidToken) || errors.Is(err, errTokenExpired) {
		t.Fatalf("parse(expired token signed with another key) error = %v, want ErrInvalidToken and not errTokenExpired", err)
	}
}

func TestTokenCodecPurposes(t *testing.T) {
	// The three codecs share a secret on purpose: only the audience keeps
	// a token of one kind from being used as another.
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	codecs := map[string]*tokenCodec{}
	for _, aud := range []string{AudienceAuth, AudienceVerify, AudienceReset, audienceOAuthState} {
		codecs[aud] = newTestCodec(t, codecSecret, aud, clock)
	}
	for issuer, ic := range codecs {
		tok, err := ic.issue("user-1", map[string]any{"password_fgpt": "x"})
		if err != nil {
			t.Fatal(err)
		}
		for reader, rc := range codecs {
			name := "a " + issuer + " token is refused as " + reader
			if issuer == reader {
				name = "a " + issuer + " token is accepted as " + reader
			}
			t.Run(name, func(t *testing.T) {
				_, err := rc.parse(tok)
				if issuer == reader && err != nil {
					t.Fatalf("parse() error = %v, want nil", err)
				}
				if issuer != reader && !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("parse() error = %v, want ErrInvalidToken", err)
				}
			})
		}
	}
}

func TestNewTokenCodec(t *testing.T) {
	tests := []struct {
		name     string
		secret   []byte
		lifetime time.Duration
		wantErr  bool
	}{
		{"a 32-byte secret and an hour are accepted", codecSecret, time.Hour, false},
		{"a 31-byte secret is refused", codecSecret[:31], time.Hour, true},
		{"a nil secret is refused", nil, time.Hour, true},
		{"a zero lifetime is refused", codecSecret, 0, true},
		{"a negative lifetime is refused", codecSecret, -time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newTokenCodec(tt.secret, AudienceReset, tt.lifetime)
			var ce *ConfigError
			if tt.wantErr != errors.As(err, &ce) {
				t.Fatalf("newTokenCodec() error = %v, want a *ConfigError: %v", err, tt.wantErr)
			}
		})
	}
}

func TestJWTStrategyClock(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123_000_000, time.UTC)
	clock := &fakeClock{now: t0}
	s, err := NewJWTStrategy(codecSecret)
	if err != nil {
		t.Fatal(err)
	}
	s.setClock(clock.Now)
	tok, err := s.WriteToken(ctx, TokenSubject{UserID: "user-1", Epoch: "E1"})
	if err != nil {
		t.Fatalf("WriteToken() error = %v", err)
	}
	info, err := s.ReadToken(ctx, tok)
	if err != nil || info.UserID != "user-1" || info.Epoch != "E1" || info.ID == "" || !info.ExpiresAt.Equal(t0.Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("ReadToken() = %+v, %v, want user-1, epoch E1, a jti, expiring at %v", info, err, t0.Add(time.Hour).Truncate(time.Second))
	}
	clock.now = t0.Add(time.Hour)
	if _, err := s.ReadToken(ctx, tok); !errors.Is(err, ErrInvalidToken) || !errors.Is(err, errTokenExpired) {
		t.Fatalf("ReadToken() an hour later: error = %v, want ErrInvalidToken and errTokenExpired", err)
	}
}

func TestCheckHeader(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		wantErr bool
	}{
		{"the header ginusers and PyJWT write is accepted", `{"alg":"HS256","typ":"JWT"}`, false},
		{"a header with only alg is accepted", `{"alg":"HS256"}`, false},
		{"a header with a kid is accepted", `{"alg":"HS256","typ":"JWT","kid":"k1"}`, false},
		{"alg none is refused", `{"alg":"none"}`, true},
		{"a missing alg is refused", `{"typ":"JWT"}`, true},
		{"a crit list is refused", `{"alg":"HS256","crit":["b64"],"b64":false}`, true},
		{"a nested member is refused", `{"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"}}`, true},
		{"a numeric member is refused", `{"alg":"HS256","x":1}`, true},
		{"an array is refused", `["alg","HS256"]`, true},
		{"null is refused", `null`, true},
		{"an over-long header is refused", `{"alg":"HS256","x":"` + strings.Repeat("a", 512) + `"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := base64.RawURLEncoding.EncodeToString([]byte(tt.header)) + ".e30.AAAA"
			if err := checkHeader(enc); (err != nil) != tt.wantErr {
				t.Fatalf("checkHeader(%s) error = %v, want error: %v", tt.header, err, tt.wantErr)
			}
		})
	}
}

// The parse fast path skips checkHeader only for the header that issue
// writes; it must be the header issue really writes.
func TestIssuedHeaderMatchesIssue(t *testing.T) {
	tc, err := newTokenCodec([]byte("a test secret that is long enough for HS256!"), AudienceAuth, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tc.issue("someone", nil)
	if err != nil {
		t.Fatal(err)
	}
	if hdr, _, _ := strings.Cut(tok, "."); hdr != issuedHeader {
		t.Fatalf("issued header = %q, want %q", hdr, issuedHeader)
	}
}

// payloadOf decodes the claims of a compact JWT without checking it.
func payloadOf(t *testing.T, tok string) map[string]json.RawMessage {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts, want 3", tok, len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal payload %s: %v", b, err)
	}
	return m
}

// D5: iat and exp are whole seconds (PyJWT 2.6 refuses a fractional iat in
// the current second); aud is an array in access tokens and a string in
// verify and reset tokens, as fastapi-users writes them.
func TestIssuedClaimShapes(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 999_000_000, time.UTC)
	clock := &fakeClock{now: t0}
	access := newTestCodec(t, codecSecret, AudienceAuth, clock)
	verify := newTestCodec(t, codecSecret, AudienceVerify, clock)
	verify.audienceString = true
	for _, tc := range []struct {
		name  string
		codec *tokenCodec
		aud   string
	}{
		{"access", access, `["fastapi-users:auth"]`},
		{"verify", verify, `"fastapi-users:verify"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.codec.issue("user-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			p := payloadOf(t, tok)
			if got := string(p["iat"]); got != "1772366400" {
				t.Fatalf("iat = %s, want the whole second 1772366400", got)
			}
			if got := string(p["exp"]); got != "1772370000" {
				t.Fatalf("exp = %s, want 1772370000", got)
			}
			if got := string(p["aud"]); got != tc.aud {
				t.Fatalf("aud = %s, want %s", got, tc.aud)
			}
		})
	}
}
