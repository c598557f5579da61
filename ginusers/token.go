package ginusers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/valyala/fastjson"
)

// Audiences of the tokens ginusers makes. A token made for one purpose is
// never accepted for another. They are fastapi-users' values.
const (
	AudienceAuth   = "fastapi-users:auth"
	AudienceVerify = "fastapi-users:verify"
	AudienceReset  = "fastapi-users:reset"
	// audienceOAuthState is fastapi-users' OAuth state audience, reserved
	// so that no access token can be made for it.
	audienceOAuthState = "fastapi-users:oauth-state"
)

// MinSecretLength is the shortest HMAC secret accepted, in bytes (256 bits).
const MinSecretLength = 32

// maxTokenLength bounds the tokens parsed, so that parsing untrusted input
// costs little.
const maxTokenLength = 8 << 10

// maxHeaderLength bounds the encoded protected header. ginusers and PyJWT
// write {"alg":"HS256","typ":"JWT"}, 36 characters once encoded.
const maxHeaderLength = 512

// maxClockSkew is how far in the future a token's iat may be, for servers
// whose clocks differ a little.
const maxClockSkew = time.Minute

// errTokenExpired marks an expired but otherwise valid token.
var errTokenExpired = ErrTokenExpired

// tokenCodec signs and checks HS256 JWTs for one purpose (one audience).
type tokenCodec struct {
	key      []byte
	macs     sync.Pool // of HMAC-SHA256 hashes keyed with key
	audience string
	// audienceString writes aud as a string, as fastapi-users writes it in
	// verify and reset tokens; access tokens carry a one-element array.
	audienceString bool
	lifetime       time.Duration
	clock          func() time.Time
}

func newTokenCodec(secret []byte, audience string, lifetime time.Duration) (*tokenCodec, error) {
	if len(secret) < MinSecretLength {
		return nil, configErrorf("secret for %q tokens must be at least %d bytes, got %d", audience, MinSecretLength, len(secret))
	}
	if lifetime <= 0 {
		return nil, configErrorf("lifetime of %q tokens must be positive, got %v", audience, lifetime)
	}
	// The codec keeps its own copy, so that a caller wiping its secret does
	// not leave tokens signed with zero bytes.
	tc := &tokenCodec{key: bytes.Clone(secret), audience: audience, lifetime: lifetime, clock: time.Now}
	tc.macs.New = func() any { return hmac.New(sha256.New, tc.key) }
	return tc, nil
}

// issuedHeader is the encoded protected header of every token issue makes:
// {"alg":"HS256","typ":"JWT"}, as jws.Sign writes it.
var issuedHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// issue signs a token for subject with the given extra claims. It always
// sets sub, aud, iat and exp, the last two as whole seconds (PyJWT and other
// verifiers refuse a fractional iat within the current second). Revocation
// does not rely on iat: see the epoch and jti claims of access tokens.
func (tc *tokenCodec) issue(subject string, extra map[string]any) (string, error) {
	now := tc.clock()
	c := make(map[string]any, len(extra)+4)
	for k, v := range extra {
		c[k] = v
	}
	c["sub"] = subject
	if tc.audienceString {
		c["aud"] = tc.audience
	} else {
		c["aud"] = []string{tc.audience}
	}
	c["iat"] = now.Unix()
	c["exp"] = now.Add(tc.lifetime).Unix()
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("ginusers: encode token: %w", err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("ginusers: token header: %w", err)
	}
	signed, err := jws.Sign(payload, jws.WithKey(jwa.HS256(), tc.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("ginusers: sign token: %w", err)
	}
	return string(signed), nil
}

// claims are the registered and ginusers claims of a token, decoded
// strictly by parseClaims: a claim of the wrong JSON type makes the token
// invalid.
type claims struct {
	Sub          string
	Aud          audience
	Exp          *float64
	Iat          *float64
	Nbf          *float64
	Email        string
	PasswordFgpt string
	Jti          string
	Epoch        string
	// The claims of OAuth state tokens.
	Csrftoken string
	OAuthName string
	Redirect  string
}

// audience is the aud claim: a string or an array of strings (RFC 7519).
type audience []string

func unixTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// parse verifies a token: the signature with the pinned algorithm (jwx's
// compact verifier with HS256 only, so "none", other algorithms and key
// confusion fail, and so does any "crit" or "b64" header), then the claims:
// the audience must be this codec's, exp must be present, the token must
// not be expired or not yet valid. iat is optional: fastapi-users issues
// tokens without it, and ginusers accepts them (D5). Errors wrap
// [ErrInvalidToken]; an expired token also wraps errTokenExpired.
func (tc *tokenCodec) parse(s string) (*claims, error) {
	if len(s) == 0 || len(s) > maxTokenLength || strings.Count(s, ".") != 2 {
		return nil, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	// The header of the tokens issued here is always the same: its
	// algorithm is HS256 by construction, so the signature is checked
	// directly (HMAC-SHA256 of the signing input, compared in constant
	// time). Any other header is vetted, then verified by jwx.
	var payload []byte
	if hdr, _, _ := strings.Cut(s, "."); hdr == issuedHeader {
		buf := tokenBufs.Get().(*tokenBuf)
		defer tokenBufs.Put(buf)
		var err error
		if payload, err = tc.verifyIssued(s, buf); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	} else {
		if err := checkHeader(s); err != nil {
			return nil, fmt.Errorf("%w: header: %w", ErrInvalidToken, err)
		}
		var err error
		if payload, err = jws.VerifyCompactFast(tc.key, []byte(s), jwa.HS256()); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	}
	c, err := parseClaims(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	if !slices.Contains(c.Aud, tc.audience) {
		return nil, fmt.Errorf("%w: wrong audience", ErrInvalidToken)
	}
	if c.Exp == nil {
		return nil, fmt.Errorf("%w: exp is required", ErrInvalidToken)
	}
	now := tc.clock()
	if c.Nbf != nil && now.Before(unixTime(*c.Nbf)) {
		return nil, fmt.Errorf("%w: not yet valid", ErrInvalidToken)
	}
	if !now.Before(unixTime(*c.Exp)) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, errTokenExpired)
	}
	if c.Iat != nil && unixTime(*c.Iat).After(now.Add(maxClockSkew)) {
		return nil, fmt.Errorf("%w: issued in the future", ErrInvalidToken)
	}
	return c, nil
}

// tokenBuf holds the scratch space of verifyIssued.
type tokenBuf struct {
	input, payload []byte
	sig            [sha256.Size]byte
	sum            []byte
}

var tokenBufs = sync.Pool{New: func() any { return &tokenBuf{sum: make([]byte, 0, sha256.Size)} }}

// rawURL is the encoding of the parts of a compact JWS: base64url without
// padding, strict (no trailing bits, no line breaks).
var rawURL = base64.RawURLEncoding.Strict()

// verifyIssued checks the HS256 signature of s, whose header is
// issuedHeader, and returns its decoded payload, in buf (valid until buf is
// reused).
func (tc *tokenCodec) verifyIssued(s string, buf *tokenBuf) ([]byte, error) {
	dot := strings.LastIndexByte(s, '.')
	buf.input = append(buf.input[:0], s[:dot]...)
	sig := s[dot+1:]
	if rawURL.DecodedLen(len(sig)) != sha256.Size {
		return nil, errors.New("malformed signature")
	}
	if n, err := rawURL.Decode(buf.sig[:], []byte(sig)); err != nil || n != sha256.Size {
		return nil, errors.New("malformed signature")
	}
	mac := tc.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(buf.input)
	buf.sum = mac.Sum(buf.sum[:0])
	tc.macs.Put(mac)
	if !hmac.Equal(buf.sum, buf.sig[:]) {
		return nil, errors.New("signature mismatch")
	}
	enc := buf.input[len(issuedHeader)+1:]
	payload, err := rawURL.AppendDecode(buf.payload[:0], enc)
	if err != nil {
		return nil, fmt.Errorf("malformed payload: %w", err)
	}
	buf.payload = payload
	return payload, nil
}

// claimsParsers reuses fastjson parsers (the parser jwx itself uses for
// headers), which decode a token's claims several times faster than
// encoding/json on this hot path.
var claimsParsers fastjson.ParserPool

// parseClaims decodes the claims strictly: the payload must be a JSON
// object; sub, email, password_fgpt, jti, epoch, csrftoken, oauth_name
// and redirect must be strings, aud a string or an
// array of strings, exp, iat and nbf numbers, when present. A claim that
// appears twice makes the token invalid.
func parseClaims(payload []byte) (*claims, error) {
	p := claimsParsers.Get()
	defer claimsParsers.Put(p)
	v, err := p.ParseBytes(payload)
	if err != nil {
		return nil, err
	}
	obj, err := v.Object()
	if err != nil {
		return nil, err
	}
	var c claims
	seen := 0
	obj.Visit(func(key []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		bit, str, num := 0, (*string)(nil), (**float64)(nil)
		switch string(key) {
		case "sub":
			bit, str = 1, &c.Sub
		case "email":
			bit, str = 2, &c.Email
		case "password_fgpt":
			bit, str = 4, &c.PasswordFgpt
		case "exp":
			bit, num = 8, &c.Exp
		case "iat":
			bit, num = 16, &c.Iat
		case "nbf":
			bit, num = 32, &c.Nbf
		case "aud":
			bit = 64
		case "jti":
			bit, str = 128, &c.Jti
		case "epoch":
			bit, str = 256, &c.Epoch
		case "csrftoken":
			bit, str = 512, &c.Csrftoken
		case "oauth_name":
			bit, str = 1024, &c.OAuthName
		case "redirect":
			bit, str = 2048, &c.Redirect
		default:
			return
		}
		if seen&bit != 0 {
			err = fmt.Errorf("claim %q appears twice", key)
			return
		}
		seen |= bit
		switch {
		case str != nil:
			var b []byte
			if b, err = v.StringBytes(); err == nil {
				*str = string(b)
			}
		case num != nil:
			var f float64
			if f, err = v.Float64(); err == nil {
				*num = &f
			}
		default:
			c.Aud, err = audienceOf(v)
		}
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func audienceOf(v *fastjson.Value) (audience, error) {
	if v.Type() == fastjson.TypeString {
		b, _ := v.StringBytes()
		return audience{string(b)}, nil
	}
	arr, err := v.Array()
	if err != nil {
		return nil, err
	}
	out := make(audience, 0, len(arr))
	for _, e := range arr {
		b, err := e.StringBytes()
		if err != nil {
			return nil, err
		}
		out = append(out, string(b))
	}
	return out, nil
}

// checkHeader refuses, before jwx parses it, a protected header that is not
// a short, flat JSON object of strings with alg HS256. jwx's header parser
// builds error messages that grow with the square of the nesting depth
// (megabytes for a few kilobytes of "["), so nested values never reach it;
// "crit" (an array) is refused here too.
func checkHeader(s string) error {
	enc, _, _ := strings.Cut(s, ".")
	if len(enc) > maxHeaderLength {
		return errors.New("too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return err
	}
	var h map[string]string
	if err := json.Unmarshal(b, &h); err != nil {
		return err
	}
	if h["alg"] != "HS256" {
		return errors.New("alg is not HS256")
	}
	return nil
}
