package ginusers

import (
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Audiences of the tokens ginusers makes. A token made for one purpose is
// never accepted for another. They are fastapi-users' values.
const (
	AudienceAuth       = "fastapi-users:auth"
	AudienceVerify     = "fastapi-users:verify"
	AudienceReset      = "fastapi-users:reset"
	AudienceOAuthState = "fastapi-users:oauth-state"
)

// MinSecretLength is the shortest HMAC secret accepted, in bytes (256 bits).
const MinSecretLength = 32

// maxTokenLength bounds the tokens parsed, so that parsing untrusted input
// costs little.
const maxTokenLength = 8 << 10

// errTokenExpired marks an expired but otherwise valid token.
var errTokenExpired = errors.New("ginusers: token expired")

// tokenCodec signs and checks HS256 JWTs for one purpose (one audience).
type tokenCodec struct {
	key      []byte
	audience string
	lifetime time.Duration
	clock    func() time.Time
}

func newTokenCodec(secret []byte, audience string, lifetime time.Duration) (*tokenCodec, error) {
	if len(secret) < MinSecretLength {
		return nil, configErrorf("secret for %q tokens must be at least %d bytes, got %d", audience, MinSecretLength, len(secret))
	}
	if lifetime <= 0 {
		return nil, configErrorf("lifetime of %q tokens must be positive, got %v", audience, lifetime)
	}
	return &tokenCodec{key: secret, audience: audience, lifetime: lifetime, clock: time.Now}, nil
}

// issue signs a token for subject with the given extra claims. It always
// sets sub, aud, iat and exp.
func (tc *tokenCodec) issue(subject string, claims map[string]any) (string, error) {
	now := tc.clock()
	b := jwt.NewBuilder().
		Subject(subject).
		Audience([]string{tc.audience}).
		IssuedAt(now).
		Expiration(now.Add(tc.lifetime))
	for k, v := range claims {
		b = b.Claim(k, v)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("ginusers: build token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), tc.key))
	if err != nil {
		return "", fmt.Errorf("ginusers: sign token: %w", err)
	}
	return string(signed), nil
}

// parse verifies a token: signature with the pinned algorithm (HS256 only,
// so "none" and algorithm confusion fail), audience, exp and iat present,
// not expired. Errors wrap [ErrInvalidToken]; an expired token also wraps
// errTokenExpired.
func (tc *tokenCodec) parse(s string) (jwt.Token, error) {
	if len(s) == 0 || len(s) > maxTokenLength {
		return nil, fmt.Errorf("%w: bad length", ErrInvalidToken)
	}
	tok, err := jwt.ParseString(s,
		jwt.WithKey(jwa.HS256(), tc.key),
		jwt.WithValidate(true),
		jwt.WithAudience(tc.audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithClock(jwt.ClockFunc(tc.clock)),
	)
	if err != nil {
		if errors.Is(err, jwt.TokenExpiredError()) {
			return nil, fmt.Errorf("%w: %w: %w", ErrInvalidToken, errTokenExpired, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return tok, nil
}

// stringClaim returns a string claim, or "" if it is absent or not a string.
func stringClaim(tok jwt.Token, name string) string {
	var s string
	if err := tok.Get(name, &s); err != nil {
		return ""
	}
	return s
}
