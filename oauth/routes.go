package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// Option configures the routes of [Routes], [AssociateRoutes] and
// [MountProviders].
type Option func(*config)

type config struct {
	baseURL, callbackURL string
	policy               ginusers.OAuthPolicy
	redirects            []string
	cookie               csrfCookie
	requireVerified      bool
}

// WithBaseURL sets the public URL of the application ("https://app.example.com",
// with a path prefix if it is served under one): the callback URL sent to
// the provider as redirect_uri is this URL followed by the callback
// route's path (/auth/<name>/callback). One of WithBaseURL and
// [WithCallbackURL] is required: the callback URL is never built from the
// request's Host header, which the client chooses.
func WithBaseURL(u string) Option { return func(c *config) { c.baseURL = strings.TrimSuffix(u, "/") } }

// WithCallbackURL sets the callback URL sent to the provider as
// redirect_uri, exactly as registered there, when it is not the base URL
// followed by the route's path (a frontend page that forwards code and
// state to the API, for instance). It applies to the routes of one call:
// give it to [Routes] and [AssociateRoutes] separately.
func WithCallbackURL(u string) Option { return func(c *config) { c.callbackURL = u } }

// WithAssociateByEmail links a provider account to the existing user with
// the same address at sign-in (fastapi-users' associate_by_email), when
// the provider says the address is verified and the user has verified it
// too; see [ginusers.OAuthPolicy]. Off by default.
func WithAssociateByEmail() Option { return func(c *config) { c.policy.AssociateByEmail = true } }

// WithVerifiedByDefault makes users created at sign-in verified when the
// provider says their address is (fastapi-users' is_verified_by_default).
// Off by default.
func WithVerifiedByDefault() Option { return func(c *config) { c.policy.VerifiedByDefault = true } }

// WithRedirects lists where the browser may be sent after signing in
// (GET /authorize?redirect=...): absolute http(s) URLs or paths of this
// site, each matched exactly. The callback then answers 303 See Other to
// the target, with the sign-in cookie. Only for a backend whose login
// answer has no body (a cookie): a bearer token is never put in a URL.
// None by default: /authorize refuses a redirect parameter (422).
func WithRedirects(targets ...string) Option {
	return func(c *config) { c.redirects = append(c.redirects, targets...) }
}

// WithCSRFCookieName sets the name of the cookie that binds a flow to the
// browser that started it. The default is fastapi-users'
// "fastapiusersoauthcsrf" with the "__Host-" prefix when the cookie is
// Secure, on Path=/ and without a Domain (the defaults): browsers then let
// only this host set it, so a sibling subdomain cannot plant its own flow
// in the browser (cookie tossing, which would sign the victim in to the
// attacker's account), and without the prefix otherwise. A name with the
// "__Host-" prefix and another path, a domain or WithInsecureCSRFCookie
// makes the routes fail to mount.
func WithCSRFCookieName(name string) Option { return func(c *config) { c.cookie.name = name } }

// WithCSRFCookiePath sets the cookie's Path; the default is "/". It must
// cover the callback routes.
func WithCSRFCookiePath(p string) Option { return func(c *config) { c.cookie.path = p } }

// WithCSRFCookieDomain sets the cookie's Domain; the default is none (the
// host that set it only).
func WithCSRFCookieDomain(d string) Option { return func(c *config) { c.cookie.domain = d } }

// WithInsecureCSRFCookie drops the cookie's Secure attribute, for local
// development over plain HTTP only. The cookie is always HttpOnly and
// SameSite=Lax (Strict would not come back with the provider's redirect).
func WithInsecureCSRFCookie() Option { return func(c *config) { c.cookie.secure = false } }

// WithRequireVerified makes the association routes require a verified
// user (403 otherwise), as fastapi-users' requires_verification. The
// manager's [ginusers.WithRequireVerified] implies it.
func WithRequireVerified() Option { return func(c *config) { c.requireVerified = true } }

func newConfig(opts []Option) config {
	c := config{cookie: csrfCookie{path: "/", secure: true}}
	for _, o := range opts {
		o(&c)
	}
	if c.cookie.name == "" {
		c.cookie.name = "fastapiusersoauthcsrf"
		if c.cookie.hostOnly() {
			c.cookie.name = "__Host-fastapiusersoauthcsrf"
		}
	}
	return c
}

// authorizeAnswer is the body of /authorize.
type authorizeAnswer struct {
	AuthorizationURL string `json:"authorization_url"`
}

var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,128}$`)

const maxScopes = 16

// Query parameters of the routes.
var (
	authorizeQuery = []ginusers.Param{
		{Name: "scopes", Description: "scopes to ask for beyond the provider's own", Repeated: true},
	}
	redirectParam = ginusers.Param{Name: "redirect", Description: "where to send the browser after signing in: one of the targets the app allows, exactly"}
	browserParam  = ginusers.Param{Name: "browser", Description: "1: answer 303 to the provider (with the CSRF cookie) instead of the JSON, for a plain link in a page"}
	callbackQuery = []ginusers.Param{
		{Name: "code", Description: "the authorization code, from the provider"},
		{Name: "state", Description: "the state token, from the provider"},
		{Name: "error", Description: "the provider's error code, when the user did not sign in (access_denied)"},
	}
)

// flow is the shared machinery of one provider's routes.
type flow[F any] struct {
	m         *ginusers.Manager[F]
	p         Provider
	cfg       config
	callback  string
	redirects redirects
}

func newFlow[F any](r gin.IRouter, m *ginusers.Manager[F], p Provider, opts []Option) (*flow[F], error) {
	if m == nil || p == nil {
		return nil, errors.New("oauth: the manager or the provider is nil")
	}
	if !m.OAuthSupported() {
		return nil, fmt.Errorf("oauth: %w", ginusers.ErrOAuthUnsupported)
	}
	if err := checkName(p.Name()); err != nil {
		return nil, err
	}
	f := &flow[F]{m: m, p: p, cfg: newConfig(opts)}
	base := "/"
	if bp, ok := r.(interface{ BasePath() string }); ok {
		base = bp.BasePath()
	}
	switch {
	case f.cfg.callbackURL != "":
		f.callback = f.cfg.callbackURL
	case f.cfg.baseURL != "":
		f.callback = f.cfg.baseURL + path.Join(base, "callback")
	default:
		return nil, errors.New("oauth: WithBaseURL or WithCallbackURL is required (the callback URL is never built from the request)")
	}
	if u, err := url.Parse(f.callback); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return nil, fmt.Errorf("oauth: callback URL %q is not an absolute http(s) URL", f.callback)
	}
	var err error
	if f.redirects, err = newRedirects(f.cfg.redirects); err != nil {
		return nil, err
	}
	if f.cfg.cookie.name == "" || strings.ContainsAny(f.cfg.cookie.name, "=;, \t\"\\") {
		return nil, fmt.Errorf("oauth: CSRF cookie name %q is not valid", f.cfg.cookie.name)
	}
	if strings.HasPrefix(f.cfg.cookie.name, "__Host-") && !f.cfg.cookie.hostOnly() ||
		strings.HasPrefix(f.cfg.cookie.name, "__Secure-") && !f.cfg.cookie.secure {
		return nil, fmt.Errorf("oauth: CSRF cookie %q: browsers refuse that prefix without Secure (and, for __Host-, with a Domain or a Path other than /)", f.cfg.cookie.name)
	}
	return f, nil
}

// Routes mounts the sign-in routes of provider p on r (fastapi-users'
// OAuth router, mounted at /auth/<name> by [MountProviders]), signing in
// through backend b (one of m's), and returns them:
//
//	GET /authorize[?scopes=...][&redirect=...][&browser=1]: 200
//	{"authorization_url": "..."} and the CSRF cookie that binds the flow to
//	this browser. The client sends the browser to the URL. With browser=1
//	(not in fastapi-users), 303 to that URL instead, so that a plain link in
//	a page without JavaScript starts the flow (package account's
//	WithProviders). 422 for a redirect target that is not allowed
//	([WithRedirects]), bad scopes, or another value of browser.
//
//	GET /callback?code=...&state=...: where the provider sends the browser
//	back. Before the code is exchanged: 400 with the provider's error code
//	(access_denied) if the user did not sign in, 400 "Bad Request" without
//	a code, 400 ACCESS_TOKEN_DECODE_ERROR for a missing, malformed, forged
//	or other-purpose state, 400 ACCESS_TOKEN_ALREADY_EXPIRED for an expired
//	one, 400 OAUTH_INVALID_STATE for a state of another provider or flow
//	or without this browser's CSRF cookie (the cookie of another browser:
//	CVE-2025-68481). Then the code is exchanged with the flow's PKCE
//	verifier, and the ID token's nonce checked: 400 OAUTH_INVALID_STATE
//	when the provider refuses the code or the nonce differs, 502 when the
//	provider fails. Then 400 OAUTH_NOT_AVAILABLE_EMAIL without an address
//	(or, for an account that would make a new user, with an address the
//	provider does not vouch for: [ginusers.Manager.OAuthCallback]),
//	400 OAUTH_USER_ALREADY_EXISTS for an address that belongs to a user
//	the account cannot be linked to ([ginusers.Manager.OAuthCallback]),
//	400 LOGIN_BAD_CREDENTIALS for an inactive user (and
//	LOGIN_USER_NOT_VERIFIED under [ginusers.WithRequireVerified]);
//	otherwise the user is signed in with [ginusers.Manager.SignIn] (login
//	hooks, sessions and revocation as for a password login) and the answer
//	is b's login answer (200 bearer JSON, 204 with the cookie), or 303 to
//	the redirect target of the flow. Every answer expires the CSRF cookie:
//	a flow is used once.
func Routes[F any](r gin.IRouter, m *ginusers.Manager[F], b *ginusers.Backend, p Provider, opts ...Option) ([]ginusers.Route, error) {
	f, err := newFlow(r, m, p, opts)
	if err != nil {
		return nil, err
	}
	if b == nil || !slices.Contains(m.Backends(), b) {
		return nil, errors.New("oauth: the backend is not one of the manager's")
	}
	login := b.Transport().LoginResponse("token")
	if len(f.redirects) > 0 && login.Body != nil {
		return nil, fmt.Errorf("oauth: WithRedirects needs a backend whose login answer has no body (a cookie); backend %q answers with the token", b.Name())
	}
	query := append(slices.Clone(authorizeQuery), browserParam)
	redirect := 0
	if len(f.redirects) > 0 {
		query = append(query, redirectParam)
		redirect = http.StatusSeeOther
	}
	var resp *ginusers.Body
	if login.Body != nil {
		resp = &ginusers.Body{Shape: ginusers.ShapeGo, Type: reflect.TypeOf(login.Body)}
	}
	name := p.Name()
	return ginusers.Mount(r, m,
		ginusers.Route{
			Name: "oauth:" + name + "." + b.Name() + ".authorize", Method: http.MethodGet, Path: "/authorize", Tag: "auth",
			Summary: "Start signing in with " + name + ": the URL to send the browser to",
			Query:   query,
			Success: http.StatusOK, Response: &ginusers.Body{Shape: ginusers.ShapeGo, Type: reflect.TypeFor[authorizeAnswer]()},
			Redirect: http.StatusSeeOther,
			Handle:   func(c *gin.Context) error { return f.authorize(c, "") },
		},
		ginusers.Route{
			Name: "oauth:" + name + "." + b.Name() + ".callback", Method: http.MethodGet, Path: "/callback", Tag: "auth", Backend: b,
			Summary: "Finish signing in with " + name + " (the provider sends the browser here)",
			Query:   callbackQuery,
			Success: login.Status, Response: resp, Redirect: redirect,
			Errors: append(stateErrors(),
				ginusers.ErrorCase{Err: ginusers.ErrUserExists, Status: http.StatusBadRequest, Code: ginusers.CodeOAuthUserAlreadyExists},
				ginusers.ErrorCase{Err: ginusers.ErrOAuthAccountTaken, Status: http.StatusBadRequest, Code: ginusers.CodeOAuthUserAlreadyExists},
				ginusers.ErrorCase{Err: ginusers.ErrInvalidCredentials, Status: http.StatusBadRequest, Code: ginusers.CodeLoginBadCredentials},
				ginusers.ErrorCase{Err: ginusers.ErrUserNotVerified, Status: http.StatusBadRequest, Code: ginusers.CodeLoginUserNotVerified},
			),
			Handle: func(c *gin.Context) error { return f.loginCallback(c, b) },
		},
	), nil
}

// AssociateRoutes mounts the association routes of provider p on r
// (fastapi-users' OAuth associate router, mounted at
// /auth/associate/<name> by [MountProviders]), and returns them. Both
// require an active user (401), and a verified one with
// [WithRequireVerified] (403), checked before anything else:
//
//	GET /authorize[?scopes=...]: 200 {"authorization_url": "..."} and the
//	CSRF cookie; the state names the current user.
//
//	GET /callback?code=...&state=...: the checks of [Routes]' callback, in
//	the same order; then 400 "Bad Request" for a state issued to another
//	user, 400 OAUTH_NOT_AVAILABLE_EMAIL without an address, 400
//	OAUTH_USER_ALREADY_EXISTS for an account linked to another user;
//	otherwise the account is linked ([ginusers.Manager.OAuthAssociate]:
//	the after-update hooks run) and the answer is 200 with the user.
func AssociateRoutes[F any](r gin.IRouter, m *ginusers.Manager[F], p Provider, opts ...Option) ([]ginusers.Route, error) {
	f, err := newFlow(r, m, p, opts)
	if err != nil {
		return nil, err
	}
	if len(f.redirects) > 0 {
		return nil, errors.New("oauth: WithRedirects applies to the sign-in routes, not to association")
	}
	auth := &ginusers.Auth{}
	if f.cfg.requireVerified {
		auth.Requirements = []ginusers.Requirement{ginusers.Verified}
	}
	name := p.Name()
	user := &ginusers.Body{Shape: ginusers.ShapeUser, Type: reflect.TypeFor[F]()}
	return ginusers.Mount(r, m,
		ginusers.Route{
			Name: "oauth-associate:" + name + ".authorize", Method: http.MethodGet, Path: "/authorize", Tag: "auth",
			Summary: "Start linking a " + name + " account to the current user: the URL to send the browser to",
			Auth:    auth, Query: authorizeQuery,
			Success: http.StatusOK, Response: &ginusers.Body{Shape: ginusers.ShapeGo, Type: reflect.TypeFor[authorizeAnswer]()},
			Handle: func(c *gin.Context) error {
				u, _ := m.CurrentUser(c)
				return f.authorize(c, u.ID)
			},
		},
		ginusers.Route{
			Name: "oauth-associate:" + name + ".callback", Method: http.MethodGet, Path: "/callback", Tag: "auth",
			Summary: "Finish linking a " + name + " account to the current user",
			Auth:    auth, Query: callbackQuery,
			Success: http.StatusOK, Response: user,
			Errors: append(stateErrors(),
				ginusers.ErrorCase{Err: ginusers.ErrOAuthAccountTaken, Status: http.StatusBadRequest, Code: ginusers.CodeOAuthUserAlreadyExists},
			),
			Handle: func(c *gin.Context) error { return f.associateCallback(c) },
		},
	), nil
}

// MountProviders mounts, for each provider, the sign-in routes ([Routes])
// at /auth/<name> with backend b, and the association routes
// ([AssociateRoutes]) at /auth/associate/<name>, on r; opts apply to
// every provider (give [WithBaseURL], not [WithCallbackURL]). It returns
// the routes mounted, or the first configuration error (after which some
// routes may be mounted: treat it as fatal).
func MountProviders[F any](r gin.IRouter, m *ginusers.Manager[F], b *ginusers.Backend, providers []Provider, opts ...Option) ([]ginusers.Route, error) {
	var out []ginusers.Route
	seen := map[string]bool{}
	for _, p := range providers {
		if p == nil || seen[p.Name()] || p.Name() == "associate" {
			return nil, fmt.Errorf("oauth: a provider is nil, named \"associate\", or named twice")
		}
		seen[p.Name()] = true
		rs, err := Routes(r.Group("/auth/"+p.Name()), m, b, p, opts...)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		assocOpts := slices.Clone(opts)
		if len(newConfig(opts).redirects) > 0 {
			assocOpts = append(assocOpts, func(c *config) { c.redirects = nil })
		}
		rs, err = AssociateRoutes(r.Group("/auth/associate/"+p.Name()), m, p, assocOpts...)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// Errors of the callbacks, answered by the cases of stateErrors.
var (
	errStateDecode  = errors.New("oauth: state token malformed, forged or for another purpose")
	errStateExpired = errors.New("oauth: state token expired")
	errInvalidState = errors.New("oauth: state not bound to this browser, provider or flow")
)

func stateErrors() []ginusers.ErrorCase {
	return []ginusers.ErrorCase{
		{Err: errStateExpired, Status: http.StatusBadRequest, Code: ginusers.CodeAccessTokenAlreadyExpired},
		{Err: errStateDecode, Status: http.StatusBadRequest, Code: ginusers.CodeAccessTokenDecodeError},
		{Err: errInvalidState, Status: http.StatusBadRequest, Code: ginusers.CodeOAuthInvalidState},
		{Err: ErrInvalidGrant, Status: http.StatusBadRequest, Code: ginusers.CodeOAuthInvalidState},
		{Err: ErrNonceMismatch, Status: http.StatusBadRequest, Code: ginusers.CodeOAuthInvalidState},
		{Err: ginusers.ErrOAuthNoEmail, Status: http.StatusBadRequest, Code: ginusers.CodeOAuthNotAvailableEmail},
		{Err: ErrProvider, Status: http.StatusBadGateway, Code: "Bad Gateway"},
	}
}

// authorize starts a flow: a new secret in the CSRF cookie, the state
// token bound to it, and the provider's URL with the PKCE challenge and
// the nonce derived from it.
func (f *flow[F]) authorize(c *gin.Context, userID string) error {
	scopes := c.QueryArray("scopes")
	if len(scopes) > maxScopes {
		return ginusers.QueryError("scopes", "too_long", fmt.Sprintf("At most %d scopes", maxScopes))
	}
	for _, s := range scopes {
		if !scopeToken.MatchString(s) {
			return ginusers.QueryError("scopes", "value_error", "A scope is 1 to 128 printable characters without spaces, quotes or backslashes")
		}
	}
	target, hasTarget := c.GetQuery("redirect")
	if hasTarget && (userID != "" || !f.redirects.allows(target)) {
		return ginusers.QueryError("redirect", "value_error", "Redirect target not allowed")
	}
	b, hasBrowser := c.GetQuery("browser")
	if hasBrowser && (userID != "" || b != "1") {
		return ginusers.QueryError("browser", "value_error", "browser must be 1, and only when signing in")
	}
	browser := hasBrowser
	secret := newFlowSecret()
	state, err := f.m.IssueOAuthState(ginusers.OAuthState{CSRF: secret.csrf(), OAuthName: f.p.Name(), UserID: userID, Redirect: target})
	if err != nil {
		return err
	}
	authURL := f.p.AuthCodeURL(AuthRequest{
		State: state, CodeChallenge: secret.challenge(), Nonce: secret.nonce(), RedirectURI: f.callback, Scopes: scopes,
	})
	c.Header("Cache-Control", "no-store")
	c.Writer.Header().Add("Set-Cookie", f.cfg.cookie.set(secret.cookieValue(), f.m.OAuthStateLifetime()))
	if browser {
		c.Redirect(http.StatusSeeOther, authURL)
		return nil
	}
	c.JSON(http.StatusOK, authorizeAnswer{AuthorizationURL: authURL})
	return nil
}

// providerErrorCode is what a provider's error parameter may be to be
// shown as the detail of the answer (RFC 6749's codes are of this form).
var providerErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// check runs the checks of a callback that precede the code exchange, in
// fastapi-users' order: the provider's error, the code, the state token,
// the CSRF cookie, then the provider and flow the state was issued for.
// It expires the CSRF cookie first: whatever the outcome, a flow is used
// once.
func (f *flow[F]) check(c *gin.Context, associate bool) (ginusers.OAuthState, flowSecret, error) {
	c.Header("Cache-Control", "no-store")
	c.Writer.Header().Add("Set-Cookie", f.cfg.cookie.set("", -1))
	if e, ok := c.GetQuery("error"); ok {
		if providerErrorCode.MatchString(e) {
			return ginusers.OAuthState{}, flowSecret{}, ginusers.BadRequest(e)
		}
		return ginusers.OAuthState{}, flowSecret{}, ginusers.BadRequest("Bad Request")
	}
	code := c.Query("code")
	if code == "" {
		return ginusers.OAuthState{}, flowSecret{}, ginusers.BadRequest("Bad Request")
	}
	st, err := f.m.ReadOAuthState(c.Query("state"))
	switch {
	case errors.Is(err, ginusers.ErrTokenExpired):
		return st, flowSecret{}, fmt.Errorf("%w: %w", errStateExpired, err)
	case err != nil:
		return st, flowSecret{}, fmt.Errorf("%w: %w", errStateDecode, err)
	}
	ck, err := c.Request.Cookie(f.cfg.cookie.name)
	if err != nil {
		return st, flowSecret{}, fmt.Errorf("%w: no CSRF cookie", errInvalidState)
	}
	secret, ok := parseFlowSecret(ck.Value)
	if !ok || !secret.matches(st.CSRF) {
		return st, flowSecret{}, fmt.Errorf("%w: the CSRF cookie is not the state's", errInvalidState)
	}
	if st.OAuthName != f.p.Name() {
		return st, flowSecret{}, fmt.Errorf("%w: state issued for provider %q", errInvalidState, st.OAuthName)
	}
	if !associate && st.UserID != "" {
		return st, flowSecret{}, fmt.Errorf("%w: an association state at the sign-in callback", errInvalidState)
	}
	return st, secret, nil
}

// exchange redeems the code with the flow's PKCE verifier and checks the
// nonce.
func (f *flow[F]) exchange(c *gin.Context, secret *flowSecret) (ginusers.OAuthIdentity, error) {
	id, err := f.p.Exchange(c.Request.Context(), ExchangeRequest{
		Code: c.Query("code"), CodeVerifier: secret.verifier(), RedirectURI: f.callback, Nonce: secret.nonce(),
	})
	if err != nil {
		if !errors.Is(err, ErrInvalidGrant) && !errors.Is(err, ErrNonceMismatch) && !errors.Is(err, ErrProvider) {
			err = fmt.Errorf("%w: %w", ErrProvider, err)
		}
		return id, err
	}
	id.OAuthName = f.p.Name()
	if id.Email == "" {
		return id, ginusers.ErrOAuthNoEmail
	}
	return id, nil
}

func (f *flow[F]) loginCallback(c *gin.Context, b *ginusers.Backend) error {
	st, secret, err := f.check(c, false)
	if err != nil {
		return err
	}
	if st.Redirect != "" && !f.redirects.allows(st.Redirect) {
		return fmt.Errorf("%w: redirect target no longer allowed", errInvalidState)
	}
	id, err := f.exchange(c, &secret)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	u, _, err := f.m.OAuthCallback(ctx, id, f.cfg.policy)
	if err != nil {
		return err
	}
	resp, err := f.m.SignIn(ctx, b, c.Request, u)
	if err != nil {
		return err
	}
	if st.Redirect != "" {
		resp.Status, resp.Body = http.StatusSeeOther, nil
		resp.Header.Set("Location", st.Redirect)
	}
	ginusers.WriteResponse(c, resp)
	return nil
}

func (f *flow[F]) associateCallback(c *gin.Context) error {
	st, secret, err := f.check(c, true)
	if err != nil {
		return err
	}
	u, _ := f.m.CurrentUser(c)
	if st.UserID == "" || st.UserID != u.ID {
		return ginusers.BadRequest("Bad Request")
	}
	id, err := f.exchange(c, &secret)
	if err != nil {
		return err
	}
	nu, err := f.m.OAuthAssociate(c.Request.Context(), u, id)
	if err != nil {
		return err
	}
	return ginusers.WriteUser(c, http.StatusOK, nu)
}
