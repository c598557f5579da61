package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// A console session is a server-side record in the session store
// ([WithSessionStore]) and a cookie naming it. The cookie's value is
// "<secret>.<nonce>", two base64url strings of 32 random bytes each; the
// store keeps only the SHA-256 digest of the value, under a prefix of its
// own (sessionDigest), so a copy of the store yields no usable cookie and
// a console cookie is never a valid API token. The record holds the
// administrator's id and session epoch, when the session started
// (CreatedAt: the absolute timeout counts from it) and when it expires
// (ExpiresAt: the idle timeout, never beyond the absolute one).
//
// When less than half the idle time remains, a request rotates the token:
// a new nonce, a new record with a new expiry, the old record deleted.
// The secret stays, so the form token (an HMAC keyed by the secret, which
// is never stored) stays valid across rotations: a form opened in one tab
// can still be sent after another tab rotated the token.

// session is the console session of a request.
type session struct {
	secret []byte // the cookie's first half, the form tokens' key
	value  string // the cookie
	token  ginusers.AccessToken
}

// sessionDigest is what the store keeps of a session cookie.
func sessionDigest(value string) string { return ginusers.TokenDigest("ginusers-console\x00" + value) }

var b64 = base64.RawURLEncoding.Strict()

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return b
}

// maxCookieLength bounds what is parsed of a cookie: a session value is 87
// bytes.
const maxCookieLength = 128

// parseSession returns the secret of a session cookie's value, or false
// when the value is not one the console issued.
func parseSession(value string) ([]byte, bool) {
	if len(value) > maxCookieLength {
		return nil, false
	}
	a, b, ok := strings.Cut(value, ".")
	// Exactly the lengths issue gives: the decoder skips '\r' and '\n', so
	// a value with line breaks would otherwise decode to a session too.
	if !ok || len(a) != 43 || len(b) != 43 {
		return nil, false
	}
	secret, err := b64.DecodeString(a)
	if err != nil || len(secret) != 32 {
		return nil, false
	}
	if nonce, err := b64.DecodeString(b); err != nil || len(nonce) != 32 {
		return nil, false
	}
	return secret, true
}

// startSession records a new session for admin.
func (c *console[F]) startSession(ctx context.Context, admin *ginusers.User[F]) (*session, error) {
	now := c.cfg.clock().UTC()
	s := &session{secret: randomBytes(32)}
	return s, c.issue(ctx, s, now, now, admin.ID, admin.SessionEpoch)
}

// issue gives s a new cookie value and stores its record: the session
// started at created, for userID under epoch, expires after the idle
// timeout from now, or at the absolute timeout if that comes first.
func (c *console[F]) issue(ctx context.Context, s *session, created, now time.Time, userID, epoch string) error {
	s.value = b64.EncodeToString(s.secret) + "." + b64.EncodeToString(randomBytes(32))
	exp := now.Add(c.cfg.idle)
	if end := created.Add(c.cfg.absolute); end.Before(exp) {
		exp = end
	}
	s.token = ginusers.AccessToken{Digest: sessionDigest(s.value), UserID: userID, CreatedAt: created, ExpiresAt: exp, Epoch: epoch}
	return c.cfg.sessions.CreateToken(ctx, s.token)
}

// authenticate returns the administrator and the session of the request.
// It reads the session record and the administrator on every request, so
// a session ends at once when it expires, when it is signed out, or when
// the administrator is deleted, deactivated, demoted, or has their
// sessions ended (a new session epoch: "log out everywhere", a password
// change or reset); the record of an ended session is deleted as it is
// seen. It returns errNoSession, or an error of a store.
func (c *console[F]) authenticate(g *gin.Context) (*ginusers.User[F], *session, error) {
	ck, err := g.Request.Cookie(c.sessionCookie)
	if err != nil {
		return nil, nil, errNoSession
	}
	secret, ok := parseSession(ck.Value)
	if !ok {
		return nil, nil, errNoSession
	}
	ctx := g.Request.Context()
	digest := sessionDigest(ck.Value)
	t, err := c.cfg.sessions.GetToken(ctx, digest)
	if errors.Is(err, ginusers.ErrTokenNotFound) {
		return nil, nil, errNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	end := func() (*ginusers.User[F], *session, error) {
		if _, err := c.cfg.sessions.DeleteToken(ctx, digest); err != nil {
			return nil, nil, err
		}
		return nil, nil, errNoSession
	}
	now := c.cfg.clock()
	if !now.Before(t.ExpiresAt) || !now.Before(t.CreatedAt.Add(c.cfg.absolute)) {
		return end()
	}
	admin, err := c.m.Get(ctx, t.UserID)
	if errors.Is(err, ginusers.ErrUserNotFound) {
		return end()
	}
	if err != nil {
		return nil, nil, err
	}
	if !admin.Active || !admin.Superuser || admin.SessionEpoch != t.Epoch {
		return end()
	}
	s := &session{secret: secret, value: ck.Value, token: t}
	if t.ExpiresAt.Sub(now) < c.cfg.idle/2 && t.ExpiresAt.Before(t.CreatedAt.Add(c.cfg.absolute)) {
		c.rotate(g, s, now)
	}
	return admin, s, nil
}

// rotate gives the session a new token good for the idle timeout from now
// (up to the absolute timeout), sets the cookie, and deletes the old
// record. If the new record cannot be stored, the session goes on with the
// old one, which lives until its own expiry.
func (c *console[F]) rotate(g *gin.Context, s *session, now time.Time) {
	ctx := g.Request.Context()
	old := *s
	if err := c.issue(ctx, s, old.token.CreatedAt, now.UTC(), old.token.UserID, old.token.Epoch); err != nil {
		*s = old
		c.cfg.logger.WarnContext(ctx, "console: cannot rotate a session token", "error", err)
		return
	}
	c.setCookie(g, c.sessionCookie, s.value, 0)
	if _, err := c.cfg.sessions.DeleteToken(ctx, old.token.Digest); err != nil {
		c.cfg.logger.WarnContext(ctx, "console: cannot delete a rotated session token", "error", err)
	}
}

// setCookie sets (maxAge 0: for the browser session) or clears (maxAge
// -1) a console cookie: HttpOnly, SameSite=Strict, Secure unless
// WithInsecureCookie.
func (c *console[F]) setCookie(g *gin.Context, name, value string, maxAge int) {
	http.SetCookie(g.Writer, &http.Cookie{
		Name: name, Value: value, Path: c.cookiePath, MaxAge: maxAge,
		Secure: !c.cfg.insecure, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// formToken is the token every form of a session carries: an HMAC of a
// purpose, keyed by the session's secret. It cannot be made without the
// cookie, which another site can neither read nor (with "__Host-") set.
func formToken(secret []byte, purpose string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("ginusers console form token\x00" + purpose))
	return b64.EncodeToString(mac.Sum(nil))
}

// checkFormToken compares got with the token of secret and purpose in
// constant time.
func checkFormToken(secret []byte, purpose, got string) bool {
	return hmac.Equal([]byte(got), []byte(formToken(secret, purpose)))
}

// Purposes of form tokens.
const (
	purposeForm   = "form"    // every form of a session
	purposeSignin = "sign-in" // the sign-in form, keyed by the sign-in cookie
)

// request is an authenticated console request.
type request[F any] struct {
	admin *ginusers.User[F]
	sess  *session
	token string // the form token
}

// authed wraps a handler that needs a console session. Without one, a GET
// is sent to the sign-in page (and back after it), anything else to the
// sign-in page alone. A POST must carry the session's form token (403
// otherwise) in a form within the size limit (413).
func (c *console[F]) authed(h func(*gin.Context, *request[F])) gin.HandlerFunc {
	return func(g *gin.Context) {
		admin, s, err := c.authenticate(g)
		if errors.Is(err, errNoSession) {
			target := c.base + "/signin"
			if g.Request.Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(g.Request.URL.RequestURI())
			}
			g.Redirect(http.StatusSeeOther, target)
			return
		}
		if err != nil {
			c.fail(g, nil, err)
			return
		}
		req := &request[F]{admin: admin, sess: s, token: formToken(s.secret, purposeForm)}
		if g.Request.Method == http.MethodPost {
			if err := c.parseForm(g); err != nil {
				c.fail(g, req, err)
				return
			}
			if !checkFormToken(s.secret, purposeForm, g.Request.PostForm.Get("csrf")) {
				c.auditRefusal(g, req, "form token missing or wrong")
				c.errorPage(g, req, http.StatusForbidden, "error.csrf")
				return
			}
		}
		h(g, req)
	}
}

// parseForm reads a form body within maxFormBytes.
func (c *console[F]) parseForm(g *gin.Context) error {
	g.Request.Body = http.MaxBytesReader(g.Writer, g.Request.Body, maxFormBytes)
	if err := g.Request.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errBadForm
	}
	return nil
}

var errBadForm = errors.New("console: malformed form")

// safeNext returns next if it is a path of the console, for the redirect
// after signing in, and the users list otherwise (an open redirect would
// let a link to the sign-in page send the administrator elsewhere).
func (c *console[F]) safeNext(next string) string {
	def := c.base + "/users"
	if !strings.HasPrefix(next, c.base+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return def
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.Contains(u.Path, "/.") {
		return def
	}
	if strings.HasPrefix(next, c.base+"/signin") || strings.HasPrefix(next, c.base+"/static/") {
		return def
	}
	return next
}
