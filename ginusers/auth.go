package ginusers

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Transport carries a token between client and server: where a request's
// token is read from and how login and logout answer. It knows net/http's
// request and nothing of Gin. Implementations must be safe for concurrent
// use.
type Transport interface {
	// Token returns the request's token, or "" when there is none. A
	// malformed header counts as none: it is never an error.
	Token(r *http.Request) string
	// LoginResponse returns the answer to a successful login carrying
	// token: a status, headers (a cookie) and a JSON body (nil for none).
	// Nothing is written yet, so login hooks can still add headers.
	LoginResponse(token string) *Response
	// LogoutResponse returns the answer to a logout the same way.
	LogoutResponse() *Response
	// Scheme returns the authentication scheme to announce in
	// WWW-Authenticate on 401 answers ("Bearer"), or "" for none.
	Scheme() string
}

// Response is an answer prepared by a [Transport] (and completed by the
// [OnAfterLogin] hooks) that the HTTP layer writes: the status, the headers
// to add, and a body encoded as JSON (nil for none).
type Response struct {
	Status int
	Header http.Header
	Body   any
}

// TokenSubject is what a [Strategy] issues a token for.
type TokenSubject struct {
	// UserID is the id of the user.
	UserID string
	// Epoch is the user's session epoch ([User.SessionEpoch]) at the time
	// of the login; the strategy stores it with the token or in it, and
	// returns it in [TokenInfo].
	Epoch string
}

// TokenInfo is what a [Strategy] learns from a valid token.
type TokenInfo struct {
	// UserID is the id of the user the token was issued to.
	UserID string
	// Epoch is the session epoch the token was issued under; the [Manager]
	// refuses the token once the user's epoch has changed. Tokens that
	// carry none (fastapi-users') have the empty epoch.
	Epoch string
	// ID identifies a stateless token (a JWT's jti) so that logging it out
	// can revoke it alone; empty for tokens without one and for stored
	// tokens, which logout deletes.
	ID string
	// ExpiresAt is when the token expires; zero if unknown.
	ExpiresAt time.Time
	// Irrevocable is set by a strategy whose tokens opted out of revocation
	// ([WithInsecureIrrevocableJWT]): the Manager checks neither the epoch
	// nor the revoked tokens.
	Irrevocable bool
}

// Strategy makes and checks tokens. Implementations must be safe for
// concurrent use.
type Strategy interface {
	// WriteToken issues a new token for the subject.
	WriteToken(ctx context.Context, s TokenSubject) (string, error)
	// ReadToken checks token and returns whose it is. An invalid, expired
	// or revoked token returns an error wrapping [ErrInvalidToken]; any other
	// error is a failure of the strategy itself (its store is down).
	ReadToken(ctx context.Context, token string) (TokenInfo, error)
	// DestroyToken revokes token. A strategy that cannot revoke returns an
	// error wrapping [ErrNotSupported]; destroying an unknown token is not
	// an error.
	DestroyToken(ctx context.Context, token string) error
}

// Backend is a named pair of a [Transport] and a [Strategy]: one way to log
// in. A [Manager] tries its backends in order on every request, and the
// first one that yields a user wins. Its login and logout routes live under
// /auth/<name> when mounted by [Routes]. Backends are compared by identity:
// pass the values given to [WithBackends] wherever a backend is named
// ([RequireUserFrom], [AuthRoutes], [Manager.Login]).
type Backend struct {
	name      string
	transport Transport
	strategy  Strategy
}

// NewBackend returns a backend. name identifies it in paths; [New] refuses
// two backends whose names are equal once reduced to letters, digits and
// underscores (as fastapi-users does).
func NewBackend(name string, t Transport, s Strategy) *Backend {
	return &Backend{name: name, transport: t, strategy: s}
}

// Name returns the backend's name.
func (b *Backend) Name() string { return b.name }

// Transport returns the backend's transport.
func (b *Backend) Transport() Transport { return b.transport }

// Strategy returns the backend's strategy.
func (b *Backend) Strategy() Strategy { return b.strategy }

// sanitizedName is the name with characters outside [0-9A-Za-z_] removed
// and leading characters that are not letters or underscores dropped.
func (b *Backend) sanitizedName() string {
	var sb strings.Builder
	for _, r := range b.name {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			sb.WriteRune(r)
		}
	}
	return strings.TrimLeft(sb.String(), "0123456789")
}

// BearerTransport reads the token from "Authorization: Bearer <token>"
// (scheme compared case-insensitively) and answers login with 200
// {"access_token": "<token>", "token_type": "bearer"}. It cannot log out:
// logout answers 204 and the strategy decides whether the token dies.
type BearerTransport struct{}

// NewBearerTransport returns a [BearerTransport].
func NewBearerTransport() *BearerTransport { return &BearerTransport{} }

// Token implements [Transport].
func (*BearerTransport) Token(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}

// bearerBody is the body of a bearer login.
type bearerBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

// LoginResponse implements [Transport]: 200 {"access_token": token,
// "token_type": "bearer"}, not to be cached.
func (*BearerTransport) LoginResponse(token string) *Response {
	return &Response{
		Status: http.StatusOK,
		Header: http.Header{"Cache-Control": {"no-store"}},
		Body:   bearerBody{AccessToken: token, TokenType: "bearer"},
	}
}

// LogoutResponse implements [Transport]: 204, as fastapi-users answers a
// bearer logout.
func (*BearerTransport) LogoutResponse() *Response {
	return &Response{Status: http.StatusNoContent, Header: http.Header{}}
}

// Scheme implements [Transport].
func (*BearerTransport) Scheme() string { return "Bearer" }

// JWTStrategy issues HS256 JSON Web Tokens with the claims of fastapi-users
// (sub, the user id, and aud ["fastapi-users:auth"]), exp and iat as whole
// seconds, and two claims of ginusers': jti, a random token id, and epoch,
// the user's session epoch when it is not empty. Only HS256 is accepted
// when reading, and exp is required; iat, jti and epoch are optional, so
// tokens issued by fastapi-users with the same secret are accepted.
//
// JWTs are revocable by default: the [Manager] refuses a token whose epoch
// is no longer the user's (after a password change or reset, a
// deactivation, logging out everywhere) and one logged out by its jti.
// [WithInsecureIrrevocableJWT] turns that off.
type JWTStrategy struct {
	codec       *tokenCodec
	irrevocable bool
}

// JWTOption configures a [JWTStrategy].
type JWTOption func(*JWTStrategy)

// WithJWTLifetime sets how long tokens stay valid. The default is one hour;
// zero or negative is a configuration error (ginusers never issues a token
// that does not expire).
func WithJWTLifetime(d time.Duration) JWTOption {
	return func(s *JWTStrategy) { s.codec.lifetime = d }
}

// WithJWTAudience sets the audience written and required. The default is
// [AudienceAuth], as fastapi-users. It must differ from the audiences of
// verification, reset and OAuth-state tokens.
func WithJWTAudience(aud string) JWTOption {
	return func(s *JWTStrategy) { s.codec.audience = aud }
}

// WithInsecureIrrevocableJWT makes the tokens of a [JWTStrategy] stateless
// in the way of fastapi-users: they stay valid until they expire whatever
// happens to the user's sessions. A password change or reset, logging out
// and logging out everywhere no longer end them (a deactivated or deleted
// user is still refused, since the user is loaded on every request). Use
// it only if sessions that outlive a password reset are acceptable, for
// instance for short-lived tokens shared with a service that cannot see
// your user store. A [Manager] refuses such a strategy beside a revocable
// JWT strategy that shares its secret and audience (each would accept the
// other's tokens): give it its own audience with [WithJWTAudience].
func WithInsecureIrrevocableJWT() JWTOption {
	return func(s *JWTStrategy) { s.irrevocable = true }
}

// NewJWTStrategy returns a JWT strategy signing with secret, which must be at
// least [MinSecretLength] bytes of random data.
func NewJWTStrategy(secret []byte, opts ...JWTOption) (*JWTStrategy, error) {
	s := &JWTStrategy{codec: &tokenCodec{key: secret, audience: AudienceAuth, lifetime: time.Hour, clock: time.Now}}
	for _, o := range opts {
		o(s)
	}
	c, err := newTokenCodec(s.codec.key, s.codec.audience, s.codec.lifetime)
	if err != nil {
		return nil, err
	}
	switch c.audience {
	case "":
		return nil, configErrorf("JWT audience must not be empty")
	case AudienceVerify, AudienceReset, audienceOAuthState:
		return nil, configErrorf("JWT audience %q is reserved for another purpose", c.audience)
	}
	s.codec = c
	return s, nil
}

func (s *JWTStrategy) setClock(clock func() time.Time) { s.codec.clock = clock }

// WriteToken implements [Strategy].
func (s *JWTStrategy) WriteToken(_ context.Context, sub TokenSubject) (string, error) {
	extra := map[string]any{"jti": rand.Text()}
	if sub.Epoch != "" {
		extra["epoch"] = sub.Epoch
	}
	return s.codec.issue(sub.UserID, extra)
}

// ReadToken implements [Strategy].
func (s *JWTStrategy) ReadToken(_ context.Context, token string) (TokenInfo, error) {
	tok, err := s.codec.parse(token)
	if err != nil {
		return TokenInfo{}, err
	}
	if tok.Sub == "" {
		return TokenInfo{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return TokenInfo{
		UserID: tok.Sub, Epoch: tok.Epoch, ID: tok.Jti,
		ExpiresAt: unixTime(*tok.Exp), Irrevocable: s.irrevocable,
	}, nil
}

// DestroyToken implements [Strategy]. A JWT cannot be destroyed by the
// strategy alone: it returns [ErrNotSupported], and the [Manager] revokes
// the token in the user's record instead (see [TokenInfo.ID]).
func (s *JWTStrategy) DestroyToken(context.Context, string) error { return ErrNotSupported }

// clockSetter is implemented by the strategies of this package so that
// [WithClock] reaches them.
type clockSetter interface{ setClock(func() time.Time) }
