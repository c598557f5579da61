package oidctest_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ginusers/kit/oauth/oidctest"
)

// TestStrictPKCE: an authorization request without PKCE S256 is refused
// with invalid_request, sent back to the (registered) redirect URI.
func TestStrictPKCE(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := oidctest.Start(t)
	p.AddClient("app", "secret", []string{"https://app.example/cb"})
	p.AddUser(oidctest.User{Subject: "u1", Email: "u1@example.com", EmailVerified: true})
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for name, challenge := range map[string]url.Values{
		"no challenge":    {},
		"plain challenge": {"code_challenge": {"abc"}, "code_challenge_method": {"plain"}},
	} {
		q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"https://app.example/cb"},
			"scope": {"openid email"}, "state": {"st"}, "nonce": {"n"}}
		for k, v := range challenge {
			q[k] = v
		}
		cb, err := p.SignIn(ctx, browser, p.Issuer()+"/authorize?"+q.Encode(), "u1")
		if err != nil {
			t.Fatalf("%s: SignIn() error = %v", name, err)
		}
		if cb.Query().Get("error") != "invalid_request" || cb.Query().Get("code") != "" {
			t.Fatalf("%s: the provider redirected to %s, want error=invalid_request and no code", name, cb)
		}
	}
}
