package ginusers

import (
	"net/http"
	"time"
)

// CookieTransport carries the token in a cookie: login answers 204 with
// Set-Cookie, logout answers 204 with a cookie that expires it, sent with the
// same attributes (browsers refuse to clear a cookie otherwise). Its
// defaults are the safe ones: name "ginusersauth", Secure, HttpOnly,
// SameSite=Lax, Path=/, no Domain and no Max-Age (a session cookie).
//
// Requests authenticated by the cookie with an unsafe method (POST, PUT,
// PATCH, DELETE) are refused with 403 when a browser reports them as
// cross-origin, using [http.CrossOriginProtection]; see
// [WithTrustedOrigins]. Bearer requests are not affected. In production,
// prefer the name "__Host-ginusersauth" ([WithCookieName]), which browsers
// accept only with Secure, Path=/ and no Domain.
type CookieTransport struct {
	name     string
	maxAge   time.Duration
	path     string
	domain   string
	secure   bool
	httpOnly bool
	sameSite http.SameSite
	csrf     *http.CrossOriginProtection
	csrfErr  error
}

// CookieOption configures a [CookieTransport].
type CookieOption func(*CookieTransport)

// WithCookieName sets the cookie name; the default is "ginusersauth".
func WithCookieName(name string) CookieOption { return func(t *CookieTransport) { t.name = name } }

// WithCookieMaxAge makes the cookie persistent for d. The default, zero,
// is a session cookie with no Max-Age. The token's own lifetime is set by
// the strategy, independently.
func WithCookieMaxAge(d time.Duration) CookieOption {
	return func(t *CookieTransport) { t.maxAge = d }
}

// WithCookiePath sets the cookie's Path; the default is "/".
func WithCookiePath(p string) CookieOption { return func(t *CookieTransport) { t.path = p } }

// WithCookieDomain sets the cookie's Domain. The default is none, so the
// cookie goes back only to the host that set it; a Domain widens that to
// its subdomains.
func WithCookieDomain(d string) CookieOption { return func(t *CookieTransport) { t.domain = d } }

// WithCookieSameSite sets the SameSite attribute; the default is
// [http.SameSiteLaxMode]. [http.SameSiteNoneMode] needs Secure.
func WithCookieSameSite(s http.SameSite) CookieOption {
	return func(t *CookieTransport) { t.sameSite = s }
}

// WithInsecureCookie drops the Secure attribute so that the cookie works
// over plain HTTP, for local development only.
func WithInsecureCookie() CookieOption { return func(t *CookieTransport) { t.secure = false } }

// WithInsecureScriptableCookie drops the HttpOnly attribute, letting
// scripts in the page read the token (and so any injected script steal it).
func WithInsecureScriptableCookie() CookieOption {
	return func(t *CookieTransport) { t.httpOnly = false }
}

// WithTrustedOrigins lets cross-origin requests from these origins (such
// as "https://app.example.com", scheme and host) use the cookie with unsafe
// methods. An origin that does not parse makes [NewCookieTransport] fail.
func WithTrustedOrigins(origins ...string) CookieOption {
	return func(t *CookieTransport) {
		for _, o := range origins {
			if err := t.csrf.AddTrustedOrigin(o); err != nil && t.csrfErr == nil {
				t.csrfErr = err
			}
		}
	}
}

// NewCookieTransport returns a cookie transport. It returns a
// [*ConfigError] for an empty name, SameSite=None without Secure, a
// "__Host-" name without Secure, Path=/ and no Domain, or a bad trusted
// origin.
func NewCookieTransport(opts ...CookieOption) (*CookieTransport, error) {
	t := &CookieTransport{
		name: "ginusersauth", path: "/", secure: true, httpOnly: true,
		sameSite: http.SameSiteLaxMode, csrf: http.NewCrossOriginProtection(),
	}
	for _, o := range opts {
		o(t)
	}
	switch {
	case t.csrfErr != nil:
		return nil, configErrorf("trusted origin: %v", t.csrfErr)
	case t.name == "" || !validCookieName(t.name):
		return nil, configErrorf("cookie name %q is not valid", t.name)
	case t.sameSite == http.SameSiteNoneMode && !t.secure:
		return nil, configErrorf("SameSite=None cookies must be Secure")
	case len(t.name) > 7 && t.name[:7] == "__Host-" && (!t.secure || t.path != "/" || t.domain != ""):
		return nil, configErrorf("a __Host- cookie must be Secure, with Path=/ and no Domain")
	case len(t.name) > 9 && t.name[:9] == "__Secure-" && !t.secure:
		return nil, configErrorf("a __Secure- cookie must be Secure")
	case t.maxAge < 0:
		return nil, configErrorf("cookie max age must not be negative")
	}
	return t, nil
}

func validCookieName(n string) bool {
	for _, r := range n {
		if r <= ' ' || r >= 0x7f || r == '=' || r == ';' || r == ',' || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}

// Token implements [Transport].
func (t *CookieTransport) Token(r *http.Request) string {
	c, err := r.Cookie(t.name)
	if err != nil {
		return ""
	}
	return c.Value
}

func (t *CookieTransport) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: t.name, Value: value, Path: t.path, Domain: t.domain, MaxAge: maxAge,
		Secure: t.secure, HttpOnly: t.httpOnly, SameSite: t.sameSite,
	}
}

// LoginResponse implements [Transport]: 204 with the cookie.
func (t *CookieTransport) LoginResponse(token string) *Response {
	maxAge := 0
	if t.maxAge > 0 {
		maxAge = int(t.maxAge / time.Second)
	}
	h := http.Header{"Cache-Control": {"no-store"}}
	h.Add("Set-Cookie", t.cookie(token, maxAge).String())
	return &Response{Status: http.StatusNoContent, Header: h}
}

// LogoutResponse implements [Transport]: 204 with an expired, empty cookie
// of the same attributes.
func (t *CookieTransport) LogoutResponse() *Response {
	h := http.Header{}
	h.Add("Set-Cookie", t.cookie("", -1).String())
	return &Response{Status: http.StatusNoContent, Header: h}
}

// Name returns the cookie's name.
func (t *CookieTransport) Name() string { return t.name }

// Scheme implements [Transport]; cookies announce no scheme.
func (t *CookieTransport) Scheme() string { return "" }

// CheckRequest implements [RequestChecker]: it refuses cross-origin
// requests with unsafe methods, and cross-origin WebSocket handshakes
// (a GET that a page of another site may open with the user's cookie:
// cross-site WebSocket hijacking), by Sec-Fetch-Site or else by Origin
// against Host, as [http.CrossOriginProtection] does; trusted origins
// ([WithTrustedOrigins]) pass. Requests without either header (not from a
// browser) pass.
func (t *CookieTransport) CheckRequest(r *http.Request) error {
	if r.Header.Get("Upgrade") != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// Check the handshake as the unsafe request it is.
		u := r.WithContext(r.Context())
		u.Method = http.MethodPost
		return t.csrf.Check(u)
	}
	return t.csrf.Check(r)
}

// RequestChecker is implemented by transports that must vet a request
// before a token it carries is trusted, such as [CookieTransport]'s
// protection against cross-site request forgery. A request that fails the
// check is answered 403 Forbidden.
type RequestChecker interface {
	CheckRequest(r *http.Request) error
}
