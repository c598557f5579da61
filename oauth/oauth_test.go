package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gin-gonic/gin"
	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/storetest"
)

func TestRedirectTargets(t *testing.T) {
	for _, bad := range []string{
		"", "//evil.example", "/\\evil.example", "https://user@app.example/x", "javascript:alert(1)",
		"ftp://app.example/x", "https://app.example/x#frag", "https:///x", " /x", "/x\n", "app.example/x", "mailto:a@b",
	} {
		if _, err := newRedirects([]string{bad}); err == nil {
			t.Fatalf("newRedirects(%q) = nil error, want one", bad)
		}
	}
	r, err := newRedirects([]string{"/account", "https://app.example/welcome"})
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]bool{
		"/account": true, "https://app.example/welcome": true,
		"/account/": false, "/Account": false, "/account?x=1": false, "//app.example/account": false,
		"https://app.example/welcome/": false, "https://app.example.evil/welcome": false,
		"https://app.example@evil.example/welcome": false, "https://APP.example/welcome": false, "": false,
	} {
		if got := r.allows(target); got != want {
			t.Fatalf("allows(%q) = %v, want %v", target, got, want)
		}
	}
}

func TestFlowSecret(t *testing.T) {
	a, b := newFlowSecret(), newFlowSecret()
	if a == b {
		t.Fatalf("two flows got the same secret")
	}
	got, ok := parseFlowSecret(a.cookieValue())
	if !ok || got != a {
		t.Fatalf("parseFlowSecret(cookieValue()) = %v, %v; want the secret", got, ok)
	}
	for _, bad := range []string{"", "short", a.cookieValue() + "A", a.cookieValue()[:42] + "=", strings.Repeat("A", 44)} {
		if _, ok := parseFlowSecret(bad); ok {
			t.Fatalf("parseFlowSecret(%q) ok, want refused", bad)
		}
	}
	if !a.matches(a.csrf()) || a.matches(b.csrf()) || a.matches("") {
		t.Fatalf("matches() does not tell the flows apart")
	}
	v := a.verifier()
	if len(v) != 43 || v == a.csrf() || v == a.nonce() || a.csrf() == a.nonce() {
		t.Fatalf("derived values are not distinct 43-character strings: %q %q %q", v, a.csrf(), a.nonce())
	}
	// RFC 7636 appendix B.
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if got := s256(verifier); got != challenge {
		t.Fatalf("S256(%q) = %q, want %q", verifier, got, challenge)
	}
}

func TestAuthStyle(t *testing.T) {
	for _, tt := range []struct {
		methods []string
		want    oauth2.AuthStyle
		err     bool
	}{
		{nil, oauth2.AuthStyleInHeader, false},
		{[]string{"client_secret_basic", "client_secret_post"}, oauth2.AuthStyleInHeader, false},
		{[]string{"client_secret_post"}, oauth2.AuthStyleInParams, false},
		{[]string{"private_key_jwt", "client_secret_post"}, oauth2.AuthStyleInParams, false},
		{[]string{"private_key_jwt"}, 0, true},
	} {
		got, err := authStyle(tt.methods)
		if (err != nil) != tt.err || got != tt.want {
			t.Fatalf("authStyle(%v) = %v, %v; want %v, error %v", tt.methods, got, err, tt.want, tt.err)
		}
	}
}

// discovery serves a discovery document with the given extra members.
func discovery(t *testing.T, extra map[string]any) string {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{
			"issuer": srv.URL, "authorization_endpoint": srv.URL + "/auth", "token_endpoint": srv.URL + "/token",
			"jwks_uri": srv.URL + "/keys",
		}
		for k, v := range extra {
			doc[k] = v
		}
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestDiscoverOIDCClientSecretPost: a provider that advertises only
// client_secret_post gets the secret in the form.
func TestDiscoverOIDCClientSecretPost(t *testing.T) {
	issuer := discovery(t, map[string]any{
		"token_endpoint_auth_methods_supported": []string{"client_secret_post"}, "code_challenge_methods_supported": []string{"S256"},
	})
	p, err := DiscoverOIDC(t.Context(), "post", issuer, "id", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if p.AuthStyle() != oauth2.AuthStyleInParams {
		t.Fatalf("AuthStyle() = %v, want client_secret_post", p.AuthStyle())
	}
	u := p.AuthCodeURL(AuthRequest{State: "s", CodeChallenge: "c", Nonce: "n", RedirectURI: "https://app.example/cb", Scopes: []string{"groups", "email"}})
	for _, want := range []string{"code_challenge=c", "code_challenge_method=S256", "nonce=n", "scope=openid+email+profile+groups", "redirect_uri=https%3A%2F%2Fapp.example%2Fcb"} {
		if !strings.Contains(u, want) {
			t.Fatalf("AuthCodeURL() = %s, want %s", u, want)
		}
	}
}

func TestDiscoverOIDCRefusesNoS256(t *testing.T) {
	issuer := discovery(t, map[string]any{"code_challenge_methods_supported": []string{"plain"}})
	if _, err := DiscoverOIDC(t.Context(), "plain", issuer, "id", "secret"); err == nil {
		t.Fatalf("DiscoverOIDC() of a provider without S256 = nil error, want one")
	}
}

// TestGitHubUserInfo reads GitHub's documented answers: the numeric id,
// and the primary address with its verification.
func TestGitHubUserInfo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer gho_token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/user":
			_, _ = w.Write([]byte(`{"login":"octocat","id":583231,"email":"public@example.com"}`))
		case "/user/emails":
			_, _ = w.Write([]byte(`[{"email":"other@example.com","primary":false,"verified":true},{"email":"octocat@github.example","primary":true,"verified":true}]`))
		}
	}))
	defer srv.Close()
	id, err := GitHubUserInfo(srv.URL)(context.Background(), srv.Client(), &oauth2.Token{AccessToken: "gho_token"})
	if err != nil {
		t.Fatal(err)
	}
	if id.AccountID != "583231" || id.Email != "octocat@github.example" || !id.EmailVerified {
		t.Fatalf("GitHubUserInfo() = %+v, want id 583231, the verified primary address", id)
	}
	if _, err := GitHubUserInfo(srv.URL)(context.Background(), srv.Client(), &oauth2.Token{AccessToken: "wrong"}); err == nil {
		t.Fatalf("GitHubUserInfo() with a refused token = nil error, want one")
	}
	gh, err := GitHub("id", "secret")
	if err != nil || gh.Name() != "github" {
		t.Fatalf("GitHub() = %v, %v", gh, err)
	}
	if u := gh.AuthCodeURL(AuthRequest{State: "s", CodeChallenge: "c", RedirectURI: "https://app.example/cb"}); !strings.HasPrefix(u, "https://github.com/login/oauth/authorize?") || !strings.Contains(u, "scope=read%3Auser+user%3Aemail") || strings.Contains(u, "nonce") {
		t.Fatalf("GitHub AuthCodeURL() = %s", u)
	}
}

func TestProviderNames(t *testing.T) {
	for _, name := range []string{"", "Google", "a b", "a/b", "../x", strings.Repeat("a", 65), "-x"} {
		if _, err := NewOAuth2(name, GitHubEndpoint, "id", "s", GitHubUserInfo("https://api.github.com")); err == nil {
			t.Fatalf("NewOAuth2(%q) = nil error, want one", name)
		}
	}
}

// hugeAnswer serves, at every path, prefix followed by 64 MiB of spaces
// (still valid JSON), and reports how many bytes it managed to send.
func hugeAnswer(t *testing.T, prefix func(srvURL, path string) string) (*httptest.Server, *atomic.Int64) {
	var sent atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		n, _ := w.Write([]byte(prefix(srv.URL, r.URL.Path)))
		sent.Add(int64(n))
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for range 1024 {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &sent
}

// TestProviderAnswersAreBounded: a provider (or whoever answers in its
// name) that sends an endless answer cannot make the app read it into
// memory: discovery, token, keys and user-info answers are read up to a
// bound, and a longer one is a failure of the provider.
func TestProviderAnswersAreBounded(t *testing.T) {
	const most = 16 << 20 // what loopback buffers may hold, far below the 64 MiB sent
	t.Run("discovery", func(t *testing.T) {
		srv, sent := hugeAnswer(t, func(u, _ string) string {
			return `{"issuer":"` + u + `","authorization_endpoint":"` + u + `/auth","token_endpoint":"` + u + `/token","jwks_uri":"` + u + `/keys"}`
		})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		_, err := DiscoverOIDC(ctx, "huge", srv.URL, "id", "secret")
		if err == nil || sent.Load() > most {
			t.Fatalf("DiscoverOIDC() of a 64 MiB document: error %v after %d bytes sent; want an error, at most %d bytes", err, sent.Load(), most)
		}
	})
	t.Run("user info", func(t *testing.T) {
		srv, sent := hugeAnswer(t, func(_, path string) string {
			if path == "/token" {
				return `{"access_token":"at","token_type":"bearer"}`
			}
			return `{"id":1}`
		})
		info := func(ctx context.Context, c *http.Client, tok *oauth2.Token) (ginusers.OAuthIdentity, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/user", nil)
			resp, err := c.Do(req)
			if err != nil {
				return ginusers.OAuthIdentity{}, err
			}
			defer resp.Body.Close()
			if _, err := io.ReadAll(resp.Body); err != nil {
				return ginusers.OAuthIdentity{}, err
			}
			return ginusers.OAuthIdentity{AccountID: "1"}, nil
		}
		p, err := NewOAuth2("huge", oauth2.Endpoint{AuthURL: srv.URL + "/auth", TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}, "id", "secret", info)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		_, err = p.Exchange(ctx, ExchangeRequest{Code: "c", CodeVerifier: "v", RedirectURI: "https://app.example/cb"})
		if !errors.Is(err, ErrProvider) || sent.Load() > 2*most {
			t.Fatalf("Exchange() with a 64 MiB user-info answer: error %v after %d bytes sent; want ErrProvider, at most %d bytes", err, sent.Load(), 2*most)
		}
	})
}

// TestCSRFCookieName: the default name has the __Host- prefix exactly when
// the cookie can carry it; a prefix the browser would refuse is a
// configuration error.
func TestCSRFCookieName(t *testing.T) {
	for _, tt := range []struct {
		opts []Option
		want string
	}{
		{nil, "__Host-fastapiusersoauthcsrf"},
		{[]Option{WithInsecureCSRFCookie()}, "fastapiusersoauthcsrf"},
		{[]Option{WithCSRFCookiePath("/auth")}, "fastapiusersoauthcsrf"},
		{[]Option{WithCSRFCookieDomain("example.com")}, "fastapiusersoauthcsrf"},
		{[]Option{WithCSRFCookieName("flow")}, "flow"},
	} {
		if got := newConfig(tt.opts).cookie.name; got != tt.want {
			t.Errorf("cookie name with %d options = %q, want %q", len(tt.opts), got, tt.want)
		}
	}
	m, err := ginusers.New(storetest.NewMemStore[ginusers.NoFields](), ginusers.WithSecret([]byte(strings.Repeat("s", 32))))
	if err != nil {
		t.Fatal(err)
	}
	p := &OAuth2{name: "example"}
	for _, opts := range [][]Option{
		{WithCSRFCookieName("__Host-flow"), WithInsecureCSRFCookie()},
		{WithCSRFCookieName("__Host-flow"), WithCSRFCookieDomain("example.com")},
		{WithCSRFCookieName("__Host-flow"), WithCSRFCookiePath("/auth")},
		{WithCSRFCookieName("__Secure-flow"), WithInsecureCSRFCookie()},
	} {
		opts = append(opts, WithBaseURL("https://app.example"))
		if _, err := AssociateRoutes(gin.New(), m, p, opts...); err == nil || !strings.Contains(err.Error(), "browsers refuse that prefix") {
			t.Errorf("AssociateRoutes with %d cookie options = %v, want the prefix refused", len(opts), err)
		}
	}
}
