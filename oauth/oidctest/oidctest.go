// Package oidctest runs a real OpenID provider inside a test:
// github.com/zitadel/oidc's certified pkg/op, over an in-memory store of
// clients and users that each test fills for itself, on a loopback
// httptest server. It is strict where it matters to a relying party: PKCE
// with S256 is required of every authorization request, redirect URIs must
// be registered exactly, codes are single-use and bound to their PKCE
// challenge and redirect URI, and a user may deny access (access_denied).
//
//	op := oidctest.Start(t)
//	op.AddClient("app", "secret", "http://127.0.0.1:8080/auth/oidc/callback")
//	op.AddUser(oidctest.User{Subject: "alice-1", Email: "alice@example.com", EmailVerified: true})
//	// the app discovers op.Issuer(); a test "browser" follows the authorization URL:
//	callback, err := op.SignIn(ctx, browser, authorizationURL, "alice-1")
//
// It is a module of its own so that the provider's dependencies never
// reach an application that uses the oauth module.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is an account at the provider.
type User struct {
	// Subject is the account's stable id (the sub claim).
	Subject       string
	Email         string
	EmailVerified bool
}

// Provider is a running OpenID provider. Its methods are safe for
// concurrent use.
type Provider struct {
	srv     *httptest.Server
	op      *op.Provider
	st      *storage
	issuer  string
	tokens  atomic.Int64
	basic   atomic.Int64
	post    atomic.Int64
	authReq atomic.Int64
}

// ClientOption configures a client registered with [Provider.AddClient].
type ClientOption func(*client)

// WithIDTokenClaims puts the user's e-mail claims in the ID token (OpenID's
// default, when an access token is issued, is to serve them only from the
// user-info endpoint).
func WithIDTokenClaims() ClientOption { return func(c *client) { c.claimsInIDToken = true } }

// Start starts a provider on a loopback port; it stops when the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	p := &Provider{st: newStorage()}
	mux := http.NewServeMux()
	p.srv = httptest.NewServer(p.count(mux))
	t.Cleanup(p.srv.Close)
	p.issuer = p.srv.URL
	var key [32]byte
	_, _ = rand.Read(key[:])
	prov, err := op.NewProvider(&op.Config{
		CryptoKey: key, CodeMethodS256: true, AuthMethodPost: true,
	}, p.st, op.StaticIssuer(p.issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	p.op = prov
	mux.HandleFunc("/login", p.login)
	mux.Handle("/", prov)
	return p
}

// count counts the token requests, and how the client authenticated.
func (p *Provider) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth/token":
			p.tokens.Add(1)
			if _, _, ok := r.BasicAuth(); ok {
				p.basic.Add(1)
			} else if r.PostFormValue("client_secret") != "" {
				p.post.Add(1)
			}
		case "/authorize":
			p.authReq.Add(1)
		}
		next.ServeHTTP(w, r)
	})
}

// Issuer returns the provider's issuer URL (http://127.0.0.1:port), where
// its discovery document is served.
func (p *Provider) Issuer() string { return p.issuer }

// TokenRequests returns how many requests reached the token endpoint.
func (p *Provider) TokenRequests() int { return int(p.tokens.Load()) }

// ClientAuth returns how many token requests authenticated the client
// with HTTP Basic (client_secret_basic) and in the form
// (client_secret_post).
func (p *Provider) ClientAuth() (basic, post int) { return int(p.basic.Load()), int(p.post.Load()) }

// AddClient registers a confidential web client with its secret and its
// redirect URIs, compared exactly.
func (p *Provider) AddClient(id, secret string, redirectURIs []string, opts ...ClientOption) {
	c := &client{id: id, secret: secret, redirectURIs: redirectURIs}
	for _, o := range opts {
		o(c)
	}
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	p.st.clients[id] = c
}

// AddUser adds (or replaces) an account.
func (p *Provider) AddUser(u User) {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	p.st.users[u.Subject] = u
}

// TamperNonce makes the provider put the nonce fn returns, instead of the
// one of the authorization request, in the ID tokens of the next
// sign-ins (as a replayed or injected ID token would): a relying party
// must refuse them. nil restores the request's nonce.
func (p *Provider) TamperNonce(fn func(nonce string) string) {
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	p.st.tamperNonce = fn
}

// SignIn plays the browser at the provider: it opens authURL (the
// authorization URL the app gave) with browser, signs in as the user with
// the given subject, and returns the URL the provider redirects the
// browser to (the app's callback, with code and state), without opening
// it. browser must not follow redirects itself.
func (p *Provider) SignIn(ctx context.Context, browser *http.Client, authURL, subject string) (*url.URL, error) {
	return p.decide(ctx, browser, authURL, url.Values{"sub": {subject}})
}

// Deny plays a browser whose user refuses at the provider: it returns the
// callback URL with error=access_denied.
func (p *Provider) Deny(ctx context.Context, browser *http.Client, authURL string) (*url.URL, error) {
	return p.decide(ctx, browser, authURL, url.Values{"deny": {"1"}})
}

func (p *Provider) decide(ctx context.Context, browser *http.Client, authURL string, decision url.Values) (*url.URL, error) {
	loc, err := p.step(ctx, browser, authURL)
	if err != nil {
		return nil, err
	}
	if loc.Path != "/login" {
		return loc, nil // the provider answered at once (an error redirect)
	}
	q := loc.Query()
	for k, v := range decision {
		q[k] = v
	}
	loc.RawQuery = q.Encode()
	next, err := p.step(ctx, browser, loc.String())
	if err != nil {
		return nil, err
	}
	for range 4 {
		if !strings.HasPrefix(next.String(), p.issuer+"/") {
			return next, nil
		}
		if next, err = p.step(ctx, browser, next.String()); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("oidctest: too many redirects at the provider")
}

// step GETs u and returns where the provider redirects.
func (p *Provider) step(ctx context.Context, browser *http.Client, u string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := browser.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return nil, fmt.Errorf("oidctest: GET %s: %s: %s", u, resp.Status, b.String())
	}
	return resp.Location()
}

// login is the provider's login page: ?authRequestID=...&sub=... signs
// that user in; &deny=1 refuses.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	ctx := op.ContextWithIssuer(r.Context(), p.issuer)
	ar, err := p.st.AuthRequestByID(ctx, id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.URL.Query().Get("deny") != "" {
		op.AuthRequestError(w, r, ar, oidc.ErrAccessDenied().WithDescription("the user refused"), p.op)
		return
	}
	if err := p.st.complete(id, r.URL.Query().Get("sub")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(ctx, id), http.StatusFound)
}

// signingKey is one RSA key for every provider of the process: making one
// costs tens of milliseconds.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type client struct {
	id, secret      string
	redirectURIs    []string
	claimsInIDToken bool
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string            { return "/login?authRequestID=" + url.QueryEscape(id) }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return time.Hour }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return c.claimsInIDToken }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

type authRequest struct {
	id, clientID, redirectURI, state, nonce, subject string
	scopes                                           []string
	challenge                                        *oidc.CodeChallenge
	done                                             bool
	authTime                                         time.Time
}

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAMR() []string                      { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return oidc.ResponseTypeCode }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return oidc.ResponseModeQuery }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

type accessToken struct {
	subject, clientID string
	scopes            []string
	expires           time.Time
}

type storage struct {
	mu          sync.Mutex
	clients     map[string]*client
	users       map[string]User
	requests    map[string]*authRequest
	codes       map[string]string
	tokens      map[string]*accessToken
	tamperNonce func(string) string
}

func newStorage() *storage {
	return &storage{
		clients: map[string]*client{}, users: map[string]User{}, requests: map[string]*authRequest{},
		codes: map[string]string{}, tokens: map[string]*accessToken{},
	}
}

func newID() string { return rand.Text() }

type notFound struct{ what string }

func (e notFound) Error() string { return e.what + " not found" }
func (notFound) IsNotFound()     {}

func (s *storage) complete(id, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.requests[id]
	if !ok {
		return notFound{"auth request"}
	}
	if _, ok := s.users[subject]; !ok {
		return notFound{"user"}
	}
	ar.subject, ar.done, ar.authTime = subject, true, time.Now()
	if s.tamperNonce != nil {
		ar.nonce = s.tamperNonce(ar.nonce)
	}
	return nil
}

// CreateAuthRequest refuses a request without PKCE S256: this provider
// is strict.
func (s *storage) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if r.CodeChallenge == "" || r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with S256 is required")
	}
	ar := &authRequest{
		id: newID(), clientID: r.ClientID, redirectURI: r.RedirectURI, state: r.State, nonce: r.Nonce,
		scopes: r.Scopes, challenge: &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[ar.id] = ar
	return ar, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.requests[id]
	if !ok {
		return nil, notFound{"auth request"}
	}
	return ar, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, notFound{"code"}
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest makes codes single-use.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	clientID := ""
	if ar, ok := r.(*authRequest); ok {
		clientID = ar.clientID
	}
	t := &accessToken{subject: r.GetSubject(), clientID: clientID, scopes: r.GetScopes(), expires: time.Now().Add(5 * time.Minute)}
	id := newID()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = t
	return id, t.expires, nil
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errors.New("oidctest: no refresh tokens")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errors.New("oidctest: no refresh tokens")
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error { return nil }

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

type key struct{}

func (key) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (key) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (key) ID() string                                  { return "oidctest" }
func (key) Use() string                                 { return "sig" }

type privateKey struct{ key }

func (privateKey) Key() any { return signingKey() }

type publicKey struct{ key }

func (publicKey) Key() any { return &signingKey().PublicKey }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return privateKey{}, nil }
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}
func (s *storage) KeySet(context.Context) ([]op.Key, error) { return []op.Key{publicKey{}}, nil }

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, notFound{"client"}
	}
	return c, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok || c.secret != secret {
		return errors.New("oidctest: unknown client or wrong secret")
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) setUserinfo(ui *oidc.UserInfo, subject string, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[subject]
	if !ok {
		return notFound{"user"}
	}
	ui.Subject = subject
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Email != "" {
		ui.Email, ui.EmailVerified = u.Email, oidc.Bool(u.EmailVerified)
	}
	return nil
}

func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(ui, r.GetSubject(), scopes)
}

func (s *storage) SetUserinfoFromToken(_ context.Context, ui *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expires) {
		return errors.New("oidctest: invalid access token")
	}
	return s.setUserinfo(ui, t.subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("oidctest: no introspection")
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("oidctest: no client keys")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("oidctest: no JWT profile grant")
}

func (s *storage) Health(context.Context) error { return nil }
