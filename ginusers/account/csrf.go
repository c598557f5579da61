package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// Forms are protected twice (see the package documentation, "Forms"):
// http.CrossOriginProtection refuses a post that the browser marks
// cross-origin, and every form carries a token, the HMAC of a random value
// kept in an HttpOnly, SameSite=Strict cookie of the pages' own (a signed
// double submit: there is no server session for anonymous pages).

const (
	// csrfField is the name of the form field that carries the form token.
	csrfField = "csrf_token"
	// csrfCookieSecure and csrfCookieInsecure are the names of the cookie.
	csrfCookieSecure   = "__Host-ginusers-csrf"
	csrfCookieInsecure = "ginusers-csrf"
	// csrfValueLen is the length of a cookie value: 32 random bytes in
	// unpadded base64url.
	csrfValueLen = 43
)

// formTokens makes and checks form tokens.
type formTokens struct {
	key    []byte // derived from the secret, for form tokens only
	cookie string
	secure bool
}

func newFormTokens(secret []byte, insecure bool) *formTokens {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("ginusers/account form token key"))
	t := &formTokens{key: mac.Sum(nil), cookie: csrfCookieSecure, secure: true}
	if insecure {
		t.cookie, t.secure = csrfCookieInsecure, false
	}
	return t
}

// value returns the cookie value of r, or "" when it has none or a
// malformed one.
func (t *formTokens) value(r *http.Request) string {
	c, err := r.Cookie(t.cookie)
	if err != nil || len(c.Value) != csrfValueLen {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil {
		return ""
	}
	return c.Value
}

// ensure returns the form token for the request's cookie, setting a new
// cookie on w when the request has none.
func (t *formTokens) ensure(w http.ResponseWriter, r *http.Request) string {
	v := t.value(r)
	if v == "" {
		var b [32]byte
		rand.Read(b[:])
		v = base64.RawURLEncoding.EncodeToString(b[:])
		http.SetCookie(w, &http.Cookie{
			Name: t.cookie, Value: v, Path: "/", Secure: t.secure, HttpOnly: true,
			SameSite: http.SameSiteStrictMode,
		})
	}
	return t.sign(v)
}

func (t *formTokens) sign(v string) string {
	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// check reports whether token, from a posted form, is the token of the
// request's cookie.
func (t *formTokens) check(r *http.Request, token string) bool {
	v := t.value(r)
	return v != "" && hmac.Equal([]byte(token), []byte(t.sign(v)))
}
