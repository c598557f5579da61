package oauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// flowSecret is the per-flow secret kept in the browser's CSRF cookie
// (HttpOnly). The state token carries only a value derived from it, and
// the PKCE verifier is derived from it and never leaves the server and
// that cookie: whoever sees the authorization or callback URL (a proxy
// log, a Referer) learns neither. One secret per authorize request gives
// every flow its own state, verifier and nonce.
type flowSecret [32]byte

func newFlowSecret() flowSecret {
	var s flowSecret
	_, _ = rand.Read(s[:]) // crypto/rand.Read never fails (Go >= 1.24)
	return s
}

func (s *flowSecret) cookieValue() string { return base64.RawURLEncoding.EncodeToString(s[:]) }

func parseFlowSecret(v string) (flowSecret, bool) {
	var s flowSecret
	if len(v) != base64.RawURLEncoding.EncodedLen(len(s)) { // also refuses line breaks, which the decoder skips
		return s, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != len(s) {
		return s, false
	}
	copy(s[:], b)
	return s, true
}

// derive returns base64url(HMAC-SHA256(secret, label)): 43 characters,
// a valid PKCE verifier (RFC 7636 section 4.1).
func (s *flowSecret) derive(label string) string {
	mac := hmac.New(sha256.New, s[:])
	mac.Write([]byte("ginusers-oauth-" + label))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// csrf is the value the state token carries ("csrftoken").
func (s *flowSecret) csrf() string { return s.derive("csrf") }

// verifier is the PKCE code verifier of the flow.
func (s *flowSecret) verifier() string { return s.derive("pkce") }

// nonce is the OpenID nonce of the flow.
func (s *flowSecret) nonce() string { return s.derive("nonce") }

// challenge is the S256 PKCE challenge of the verifier.
func (s *flowSecret) challenge() string { return s256(s.verifier()) }

// s256 is the S256 transformation of RFC 7636: base64url(SHA-256(v)).
func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// matches reports, in constant time, whether csrf is this secret's.
func (s *flowSecret) matches(csrf string) bool {
	return hmac.Equal([]byte(s.csrf()), []byte(csrf))
}

// csrfCookie describes the CSRF cookie of the flows.
type csrfCookie struct {
	name, path, domain string
	secure             bool
}

// hostOnly reports whether the cookie may carry the __Host- prefix:
// Secure, Path=/, no Domain.
func (c *csrfCookie) hostOnly() bool { return c.secure && c.path == "/" && c.domain == "" }

func (c *csrfCookie) set(value string, maxAge time.Duration) string {
	ck := &http.Cookie{
		Name: c.name, Value: value, Path: c.path, Domain: c.domain, MaxAge: int(maxAge / time.Second),
		Secure: c.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
	if maxAge < 0 {
		ck.MaxAge = -1
	}
	return ck.String()
}

// redirects is the allowlist of the places a browser may be sent after
// signing in: each an absolute http(s) URL, or a path on this site, and a
// request's target must be one of them exactly (the same string), so no
// parsing quirk (//evil.example, /\evil.example, userinfo, a longer host)
// can widen it.
type redirects []string

func newRedirects(targets []string) (redirects, error) {
	for _, t := range targets {
		if err := checkRedirectTarget(t); err != nil {
			return nil, err
		}
	}
	return redirects(targets), nil
}

func checkRedirectTarget(t string) error {
	if t == "" || strings.ContainsAny(t, "\\\x00\r\n\t ") || strings.Contains(t, "#") {
		return errors.New("oauth: redirect target " + strconvQuote(t) + " is empty or has a backslash, a fragment or a control character")
	}
	if strings.HasPrefix(t, "/") {
		if strings.HasPrefix(t, "//") {
			return errors.New("oauth: redirect target " + strconvQuote(t) + " is a scheme-relative URL; give a full URL")
		}
		return nil
	}
	u, err := url.Parse(t)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return errors.New("oauth: redirect target " + strconvQuote(t) + " is not an http(s) URL with a host and no user info, nor a path")
	}
	return nil
}

func strconvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// allows reports whether target is on the list, exactly.
func (r redirects) allows(target string) bool {
	for _, t := range r {
		if t == target {
			return true
		}
	}
	return false
}
