package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ginusers/kit/ginusers"
)

// Provider is an OAuth 2.0 or OpenID Connect provider the routes sign
// users in with. [DiscoverOIDC] makes one for any OpenID provider,
// [NewOAuth2] one for a provider without OpenID Connect (such as
// [GitHub]). Implementations must be safe for concurrent use.
type Provider interface {
	// Name names the provider in the paths (/auth/<name>/...) and in the
	// stored accounts (oauth_name). It is made of lower-case letters,
	// digits, '-' and '_'.
	Name() string
	// AuthCodeURL returns the URL of the provider's authorization
	// endpoint for one flow: response_type=code, the client id, the
	// redirect URI, the state, the PKCE challenge (S256), the nonce (for an
	// OpenID provider) and the scopes (the provider's own, then those of
	// the request).
	AuthCodeURL(a AuthRequest) string
	// Exchange redeems the code at the token endpoint, with the PKCE
	// verifier and the redirect URI, and returns what the provider says
	// of the account. A code the provider refuses (expired, used, issued
	// for another PKCE challenge or redirect URI) gives an error wrapping
	// [ErrInvalidGrant]; an ID token whose nonce is not the expected one
	// gives [ErrNonceMismatch]; other errors are failures of the provider
	// (answered 502).
	Exchange(ctx context.Context, e ExchangeRequest) (ginusers.OAuthIdentity, error)
}

// AuthRequest is what [Provider.AuthCodeURL] puts in the URL.
type AuthRequest struct {
	State, CodeChallenge, Nonce, RedirectURI string
	// Scopes are requested beyond the provider's own.
	Scopes []string
}

// ExchangeRequest is what [Provider.Exchange] needs: the code, the PKCE
// verifier and the redirect URI of the flow, and the nonce the ID token
// must carry.
type ExchangeRequest struct {
	Code, CodeVerifier, RedirectURI, Nonce string
}

var (
	// ErrInvalidGrant is returned (wrapped) by [Provider.Exchange] when
	// the provider refuses the code: invalid_grant (an expired or used
	// code, a PKCE verifier that does not match the challenge, another
	// redirect URI) or invalid_request. The callback answers it 400
	// OAUTH_INVALID_STATE.
	ErrInvalidGrant = errors.New("oauth: the provider refused the authorization code")
	// ErrNonceMismatch is returned by [Provider.Exchange] when the ID
	// token's nonce is not the one of the flow (a replayed or injected ID
	// token). The callback answers it 400 OAUTH_INVALID_STATE.
	ErrNonceMismatch = errors.New("oauth: the ID token's nonce does not match")
	// ErrProvider is wrapped by the errors of [Provider.Exchange] that
	// are the provider's failures (unreachable, a malformed answer, an ID
	// token that does not verify). The callback answers them 502.
	ErrProvider = errors.New("oauth: provider failure")
)

// ProviderOption configures a provider.
type ProviderOption func(*providerConfig)

type providerConfig struct {
	client *http.Client
	scopes []string
	now    func() time.Time
}

// WithHTTPClient sets the client that talks to the provider (discovery,
// token, keys and user-info requests). The default is a client with a
// 10-second timeout. Whatever the client, an answer of the provider is
// read up to 1 MiB: a longer one is a failure of the provider.
func WithHTTPClient(c *http.Client) ProviderOption {
	return func(p *providerConfig) { p.client = c }
}

// WithScopes replaces the scopes the provider asks for. The defaults are
// "openid", "email" and "profile" for [DiscoverOIDC], and those of the
// provider's constructor otherwise ("read:user" and "user:email" for
// [GitHub]).
func WithScopes(scopes ...string) ProviderOption {
	return func(p *providerConfig) { p.scopes = scopes }
}

// WithProviderClock sets the clock that ID tokens are checked against,
// for tests. The default is [time.Now].
func WithProviderClock(now func() time.Time) ProviderOption {
	return func(p *providerConfig) { p.now = now }
}

func newProviderConfig(scopes []string, opts []ProviderOption) *providerConfig {
	c := &providerConfig{client: &http.Client{Timeout: 10 * time.Second}, scopes: scopes, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	c.client = boundedClient(c.client)
	return c
}

// maxProviderAnswer bounds what is read of one answer of the provider
// (discovery document, keys, token, user info: a few kilobytes each), so
// that an endless answer cannot fill the app's memory; go-oidc reads its
// answers whole.
const maxProviderAnswer = 1 << 20

var errAnswerTooLong = errors.New("oauth: the provider's answer is longer than 1 MiB")

// boundedClient returns a copy of c whose answers' bodies fail after
// maxProviderAnswer bytes.
func boundedClient(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	bc := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	bc.Transport = boundedTransport{base}
	return &bc
}

type boundedTransport struct{ base http.RoundTripper }

func (t boundedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.Body != nil {
		resp.Body = &boundedBody{ReadCloser: resp.Body, left: maxProviderAnswer}
	}
	return resp, err
}

// boundedBody reads up to left bytes, then io.EOF if the body ends there
// and errAnswerTooLong if it does not.
type boundedBody struct {
	io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.left <= 0 {
		var one [1]byte
		if n, err := io.ReadFull(b.ReadCloser, one[:]); n == 0 {
			return 0, err // io.EOF: the answer ends at the bound
		}
		return 0, errAnswerTooLong
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func checkName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("oauth: provider name %q: want lower-case letters, digits, '-' and '_'", name)
	}
	return nil
}

// withClient returns ctx carrying the HTTP client for x/oauth2 and
// go-oidc, which read it from the context.
func withClient(ctx context.Context, c *http.Client) context.Context {
	return oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, c), c)
}

func authCodeURL(cfg oauth2.Config, a AuthRequest, extra ...oauth2.AuthCodeOption) string {
	cfg.RedirectURL = a.RedirectURI
	cfg.Scopes = appendScopes(cfg.Scopes, a.Scopes)
	opts := append([]oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("code_challenge", a.CodeChallenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256"),
	}, extra...)
	return cfg.AuthCodeURL(a.State, opts...)
}

func appendScopes(base, extra []string) []string {
	out := slices.Clone(base)
	for _, s := range extra {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// exchange redeems the code, mapping the provider's refusal to
// ErrInvalidGrant.
func exchange(ctx context.Context, cfg oauth2.Config, client *http.Client, e ExchangeRequest) (*oauth2.Token, error) {
	cfg.RedirectURL = e.RedirectURI
	tok, err := cfg.Exchange(withClient(ctx, client), e.Code, oauth2.VerifierOption(e.CodeVerifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "invalid_request") {
			return nil, fmt.Errorf("%w: %s", ErrInvalidGrant, re.ErrorCode)
		}
		return nil, fmt.Errorf("%w: token exchange: %w", ErrProvider, err)
	}
	return tok, nil
}

// OIDC is an OpenID Connect provider, configured by discovery: its
// endpoints, keys and client authentication method come from its
// /.well-known/openid-configuration. Sign-in checks the ID token's
// signature (the provider's keys), issuer, audience (the client id),
// expiry and nonce, and the access token's hash when the ID token carries
// one. The account is the ID token's sub; the address and whether it is
// verified come from the ID token, or from the user-info endpoint when
// the ID token has no address.
type OIDC struct {
	name     string
	cfg      oauth2.Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	pc       *providerConfig
}

// DiscoverOIDC returns the OpenID provider at issuer (its discovery
// document is fetched now, with ctx), for the client registered there
// with clientID and clientSecret. The client authenticates at the token
// endpoint with client_secret_basic, or client_secret_post when the
// provider advertises only that; a provider that supports neither, or
// advertises PKCE methods without S256, is an error. The redirect URI is
// set by the routes ([WithBaseURL], [WithCallbackURL]) and must be
// registered at the provider exactly.
func DiscoverOIDC(ctx context.Context, name, issuer, clientID, clientSecret string, opts ...ProviderOption) (*OIDC, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if clientID == "" {
		return nil, errors.New("oauth: DiscoverOIDC: the client id is empty")
	}
	pc := newProviderConfig([]string{oidc.ScopeOpenID, "email", "profile"}, opts)
	p, err := oidc.NewProvider(withClient(ctx, pc.client), issuer)
	if err != nil {
		return nil, fmt.Errorf("oauth: discover %s: %w", issuer, err)
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
		PKCE        []string `json:"code_challenge_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("oauth: discover %s: %w", issuer, err)
	}
	style, err := authStyle(meta.AuthMethods)
	if err != nil {
		return nil, fmt.Errorf("oauth: discover %s: %w", issuer, err)
	}
	if len(meta.PKCE) > 0 && !slices.Contains(meta.PKCE, "S256") {
		return nil, fmt.Errorf("oauth: discover %s: the provider does not support PKCE with S256 (it advertises %v)", issuer, meta.PKCE)
	}
	ep := p.Endpoint()
	ep.AuthStyle = style
	o := &OIDC{
		name: name, provider: p, pc: pc,
		cfg: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: ep, Scopes: pc.scopes},
	}
	o.verifier = p.VerifierContext(withClient(context.WithoutCancel(ctx), pc.client), &oidc.Config{ClientID: clientID, Now: pc.now})
	return o, nil
}

// authStyle chooses how the client authenticates at the token endpoint
// from the methods the provider advertises: client_secret_basic (also the
// default of the specification when none are advertised), else
// client_secret_post.
func authStyle(methods []string) (oauth2.AuthStyle, error) {
	switch {
	case len(methods) == 0 || slices.Contains(methods, "client_secret_basic"):
		return oauth2.AuthStyleInHeader, nil
	case slices.Contains(methods, "client_secret_post"):
		return oauth2.AuthStyleInParams, nil
	}
	return 0, fmt.Errorf("the provider supports neither client_secret_basic nor client_secret_post (it advertises %v)", methods)
}

// Name implements [Provider].
func (o *OIDC) Name() string { return o.name }

// AuthStyle reports how the client authenticates at the token endpoint:
// [oauth2.AuthStyleInHeader] (client_secret_basic) or
// [oauth2.AuthStyleInParams] (client_secret_post).
func (o *OIDC) AuthStyle() oauth2.AuthStyle { return o.cfg.Endpoint.AuthStyle }

// AuthCodeURL implements [Provider].
func (o *OIDC) AuthCodeURL(a AuthRequest) string {
	return authCodeURL(o.cfg, a, oidc.Nonce(a.Nonce))
}

// idClaims are the claims read from an ID token or a user-info answer.
type idClaims struct {
	Subject       string          `json:"sub"`
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
}

// verified reads email_verified, a boolean, or (as some providers send
// it) the string "true".
func (c *idClaims) verified() bool {
	v := strings.TrimSpace(string(c.EmailVerified))
	return v == "true" || v == `"true"`
}

// Exchange implements [Provider].
func (o *OIDC) Exchange(ctx context.Context, e ExchangeRequest) (ginusers.OAuthIdentity, error) {
	tok, err := exchange(ctx, o.cfg, o.pc.client, e)
	if err != nil {
		return ginusers.OAuthIdentity{}, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return ginusers.OAuthIdentity{}, fmt.Errorf("%w: the token answer has no id_token", ErrProvider)
	}
	idt, err := o.verifier.Verify(withClient(ctx, o.pc.client), raw)
	if err != nil {
		return ginusers.OAuthIdentity{}, fmt.Errorf("%w: ID token: %w", ErrProvider, err)
	}
	if e.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(e.Nonce)) != 1 {
		return ginusers.OAuthIdentity{}, ErrNonceMismatch
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return ginusers.OAuthIdentity{}, fmt.Errorf("%w: at_hash: %w", ErrProvider, err)
		}
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return ginusers.OAuthIdentity{}, fmt.Errorf("%w: ID token claims: %w", ErrProvider, err)
	}
	if c.Email == "" && o.provider.UserInfoEndpoint() != "" {
		ui, err := o.provider.UserInfo(withClient(ctx, o.pc.client), oauth2.StaticTokenSource(tok))
		if err != nil {
			return ginusers.OAuthIdentity{}, fmt.Errorf("%w: user info: %w", ErrProvider, err)
		}
		var uc idClaims
		if err := ui.Claims(&uc); err != nil {
			return ginusers.OAuthIdentity{}, fmt.Errorf("%w: user info claims: %w", ErrProvider, err)
		}
		if uc.Subject != idt.Subject {
			return ginusers.OAuthIdentity{}, fmt.Errorf("%w: user info is for another subject", ErrProvider)
		}
		c.Email, c.EmailVerified = uc.Email, uc.EmailVerified
	}
	return ginusers.OAuthIdentity{
		OAuthName: o.name, AccountID: idt.Subject, Email: c.Email, EmailVerified: c.verified(),
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, ExpiresAt: tok.Expiry,
	}, nil
}

// UserInfoFunc asks a provider without OpenID Connect who the account
// behind token is, with client (which adds nothing: set the token's
// header yourself). It returns at least AccountID, and Email with
// EmailVerified when the provider says so; the routes fill in the
// provider's name and the tokens. Errors are answered 502.
type UserInfoFunc func(ctx context.Context, client *http.Client, token *oauth2.Token) (ginusers.OAuthIdentity, error)

// OAuth2 is an OAuth 2.0 provider without OpenID Connect: explicit
// endpoints, and a [UserInfoFunc] that asks its API who signed in. PKCE
// (S256) is always sent; there is no ID token, so no nonce.
type OAuth2 struct {
	name     string
	cfg      oauth2.Config
	userInfo UserInfoFunc
	pc       *providerConfig
}

// NewOAuth2 returns a provider with the given endpoints (set AuthStyle to
// how the provider wants the client authenticated; zero tries both), for
// the client clientID/clientSecret, asking userInfo who signed in. It
// does no I/O.
func NewOAuth2(name string, endpoint oauth2.Endpoint, clientID, clientSecret string, userInfo UserInfoFunc, opts ...ProviderOption) (*OAuth2, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	switch {
	case endpoint.AuthURL == "" || endpoint.TokenURL == "":
		return nil, errors.New("oauth: NewOAuth2: the authorization and token endpoints are required")
	case clientID == "":
		return nil, errors.New("oauth: NewOAuth2: the client id is empty")
	case userInfo == nil:
		return nil, errors.New("oauth: NewOAuth2: the user-info function is nil")
	}
	pc := newProviderConfig(nil, opts)
	return &OAuth2{
		name: name, userInfo: userInfo, pc: pc,
		cfg: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: endpoint, Scopes: pc.scopes},
	}, nil
}

// Name implements [Provider].
func (p *OAuth2) Name() string { return p.name }

// AuthCodeURL implements [Provider].
func (p *OAuth2) AuthCodeURL(a AuthRequest) string { return authCodeURL(p.cfg, a) }

// Exchange implements [Provider].
func (p *OAuth2) Exchange(ctx context.Context, e ExchangeRequest) (ginusers.OAuthIdentity, error) {
	tok, err := exchange(ctx, p.cfg, p.pc.client, e)
	if err != nil {
		return ginusers.OAuthIdentity{}, err
	}
	id, err := p.userInfo(ctx, p.pc.client, tok)
	if err != nil {
		return ginusers.OAuthIdentity{}, fmt.Errorf("%w: user info: %w", ErrProvider, err)
	}
	if id.AccountID == "" {
		return ginusers.OAuthIdentity{}, fmt.Errorf("%w: user info without an account id", ErrProvider)
	}
	id.OAuthName, id.AccessToken, id.RefreshToken, id.ExpiresAt = p.name, tok.AccessToken, tok.RefreshToken, tok.Expiry
	return id, nil
}

// GitHubEndpoint is GitHub's OAuth endpoint (client_secret_post).
var GitHubEndpoint = oauth2.Endpoint{
	AuthURL:   "https://github.com/login/oauth/authorize",
	TokenURL:  "https://github.com/login/oauth/access_token",
	AuthStyle: oauth2.AuthStyleInParams,
}

// GitHub returns the provider "github" for a GitHub OAuth app, with the
// scopes "read:user" and "user:email", asking GitHub's REST API who signed
// in ([GitHubUserInfo] at https://api.github.com).
func GitHub(clientID, clientSecret string, opts ...ProviderOption) (*OAuth2, error) {
	opts = append([]ProviderOption{WithScopes("read:user", "user:email")}, opts...)
	return NewOAuth2("github", GitHubEndpoint, clientID, clientSecret, GitHubUserInfo("https://api.github.com"), opts...)
}

// GitHubUserInfo returns the [UserInfoFunc] of GitHub's REST API at
// apiURL: the account is the numeric id of GET /user, and the address is
// the primary one of GET /user/emails (verified as GitHub says), or, when
// that list cannot be read, the public address of /user, unverified.
func GitHubUserInfo(apiURL string) UserInfoFunc {
	apiURL = strings.TrimSuffix(apiURL, "/")
	return func(ctx context.Context, client *http.Client, token *oauth2.Token) (ginusers.OAuthIdentity, error) {
		var user struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
		}
		if err := githubGet(ctx, client, token, apiURL+"/user", &user); err != nil {
			return ginusers.OAuthIdentity{}, err
		}
		if user.ID <= 0 {
			return ginusers.OAuthIdentity{}, errors.New("github: /user has no id")
		}
		id := ginusers.OAuthIdentity{AccountID: strconv.FormatInt(user.ID, 10), Email: user.Email}
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		if err := githubGet(ctx, client, token, apiURL+"/user/emails", &emails); err == nil {
			for _, e := range emails {
				if e.Primary {
					id.Email, id.EmailVerified = e.Email, e.Verified
				}
			}
		}
		return id, nil
	}
}

func githubGet(ctx context.Context, client *http.Client, token *oauth2.Token, url string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer "+token.AccessToken)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("github: GET %s: %s", url, resp.Status)
	}
	return json.Unmarshal(body, dst)
}
