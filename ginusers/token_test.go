package ginusers_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers"
)

// strategySecret is the HMAC secret of the strategies under test.
var strategySecret = []byte("0123456789abcdef0123456789abcdef")

const testUserID = "64b7f0c2a1b2c3d4e5f60718"

var b64url = base64.RawURLEncoding

func newJWT(t testing.TB, opts ...ginusers.JWTOption) *ginusers.JWTStrategy {
	t.Helper()
	s, err := ginusers.NewJWTStrategy(strategySecret, opts...)
	if err != nil {
		t.Fatalf("NewJWTStrategy() error = %v", err)
	}
	return s
}

// signer signs a JWS signing input (header.payload).
type signer func(input []byte) []byte

func hmacSigner(h func() hash.Hash, key []byte) signer {
	return func(input []byte) []byte {
		m := hmac.New(h, key)
		m.Write(input)
		return m.Sum(nil)
	}
}

func hs256(key []byte) signer { return hmacSigner(sha256.New, key) }

func noSignature([]byte) []byte { return nil }

// forge builds a compact JWS by hand, without the library under test:
// header and claims are JSON (a string is used as is, anything else is
// marshalled).
func forge(t testing.TB, header, claims any, sign signer) string {
	t.Helper()
	enc := func(v any) string {
		if s, ok := v.(string); ok {
			return b64url.EncodeToString([]byte(s))
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b64url.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	return input + "." + b64url.EncodeToString(sign([]byte(input)))
}

// decodePart decodes the i-th part of a compact JWS as JSON.
func decodePart(t testing.TB, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts, want 3", token, len(parts))
	}
	b, err := b64url.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("decode part %d of %q: %v", i, token, err)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode part %d %s: %v", i, b, err)
	}
	return m
}

var hs256Header = map[string]any{"alg": "HS256", "typ": "JWT"}

// claimsAt are valid access-token claims issued at now.
func claimsAt(now time.Time) map[string]any {
	return map[string]any{
		"sub": testUserID,
		"aud": []string{ginusers.AudienceAuth},
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

// without returns a copy of m without the given keys and with the given
// entries set.
func with(m map[string]any, drop []string, set map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range drop {
		delete(out, k)
	}
	for k, v := range set {
		out[k] = v
	}
	return out
}

func TestJWTStrategyReadToken(t *testing.T) {
	ctx := context.Background()
	s := newJWT(t)
	now := time.Now()
	valid := claimsAt(now)

	good, err := s.WriteToken(ctx, ginusers.TokenSubject{UserID: testUserID})
	if err != nil {
		t.Fatalf("WriteToken() error = %v", err)
	}
	otherKey := []byte("fedcba9876543210fedcba9876543210")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs256 := func(input []byte) []byte {
		d := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	eddsa := func(input []byte) []byte { return ed25519.Sign(edKey, input) }
	goodParts := strings.Split(good, ".")
	// The same signature bytes in a non-canonical encoding: the last of
	// 43 characters carries 2 bits of the signature and 4 unused ones.
	const b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(b64chars, goodParts[2][42])
	loose := goodParts[2][:42] + string(b64chars[last^1])
	tamperedSig := []byte(goodParts[2])
	tamperedSig[3] ^= 'A' ^ 'B'
	if tamperedSig[3] == goodParts[2][3] {
		tamperedSig[3] = 'A'
	}

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"a token written by the strategy is accepted", good, true},
		{"a hand-made HS256 token with the right key and claims is accepted", forge(t, hs256Header, valid, hs256(strategySecret)), true},
		{"an audience given as a plain string, as PyJWT may write it, is accepted", forge(t, hs256Header, with(valid, nil, map[string]any{"aud": ginusers.AudienceAuth}), hs256(strategySecret)), true},
		{"a PyJWT-style token with iat is accepted", forge(t, `{"alg":"HS256","typ":"JWT"}`, with(valid, nil, map[string]any{"aud": []string{ginusers.AudienceAuth}}), hs256(strategySecret)), true},

		// fastapi-users' JWTStrategy writes sub, aud and exp but no iat.
		// ginusers accepts such tokens (D5), so a fastapi-users service can
		// be replaced, or run side by side, without logging anyone out.
		{"a fastapi-users token (PyJWT, no iat) is accepted", forge(t, `{"alg":"HS256","typ":"JWT"}`, with(valid, []string{"iat"}, nil), hs256(strategySecret)), true},

		{"an expired token is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()}), hs256(strategySecret)), false},
		{"a token not valid before a future time is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"nbf": now.Add(time.Hour).Unix()}), hs256(strategySecret)), false},
		{"a token issued 30 seconds in the future (clock skew) is accepted", forge(t, hs256Header, with(valid, nil, map[string]any{"iat": now.Add(30 * time.Second).Unix()}), hs256(strategySecret)), true},
		{"a token issued an hour in the future is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"iat": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}), hs256(strategySecret)), false},
		{"an alg none token with an empty signature is refused", forge(t, `{"alg":"none","typ":"JWT"}`, valid, noSignature), false},
		{"an alg None token with an empty signature is refused", forge(t, `{"alg":"None","typ":"JWT"}`, valid, noSignature), false},
		{"an alg NONE token with an empty signature is refused", forge(t, `{"alg":"NONE","typ":"JWT"}`, valid, noSignature), false},
		{"an alg none token carrying a valid HS256 signature is refused", forge(t, `{"alg":"none","typ":"JWT"}`, valid, hs256(strategySecret)), false},
		{"an HS384 token signed with the same secret is refused", forge(t, `{"alg":"HS384","typ":"JWT"}`, valid, hmacSigner(sha512.New384, strategySecret)), false},
		{"an HS512 token signed with the same secret is refused", forge(t, `{"alg":"HS512","typ":"JWT"}`, valid, hmacSigner(sha512.New, strategySecret)), false},
		{"an RS256 token is refused", forge(t, `{"alg":"RS256","typ":"JWT"}`, valid, rs256), false},
		{"an EdDSA token is refused", forge(t, `{"alg":"EdDSA","typ":"JWT"}`, valid, eddsa), false},
		{"an HS256 token signed with another key is refused", forge(t, hs256Header, valid, hs256(otherKey)), false},
		{"an HS256 token signed with an empty key is refused", forge(t, hs256Header, valid, hs256(nil)), false},
		{"an HS256 token signed with a zero key is refused", forge(t, hs256Header, valid, hs256(make([]byte, 32))), false},
		{"a token carrying its own jwk, signed with that key, is refused", forge(t, map[string]any{"alg": "HS256", "typ": "JWT", "jwk": map[string]any{"kty": "oct", "k": b64url.EncodeToString(otherKey)}}, valid, hs256(otherKey)), false},
		{"a token with a kid pointing elsewhere, signed with another key, is refused", forge(t, `{"alg":"HS256","typ":"JWT","kid":"../../dev/null"}`, valid, hs256(otherKey)), false},
		{"a verification token (audience fastapi-users:verify) is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"aud": ginusers.AudienceVerify, "email": "a@example.com"}), hs256(strategySecret)), false},
		{"a reset token (audience fastapi-users:reset) is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"aud": ginusers.AudienceReset, "password_fgpt": "x"}), hs256(strategySecret)), false},
		{"an OAuth state token (audience fastapi-users:oauth-state) is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"aud": "fastapi-users:oauth-state"}), hs256(strategySecret)), false},
		{"a token with an empty audience is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"aud": ""}), hs256(strategySecret)), false},
		{"a token with an empty audience list is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"aud": []string{}}), hs256(strategySecret)), false},
		{"a token without aud is refused", forge(t, hs256Header, with(valid, []string{"aud"}, nil), hs256(strategySecret)), false},
		{"a token without exp is refused", forge(t, hs256Header, with(valid, []string{"exp"}, nil), hs256(strategySecret)), false},
		{"a token with a numeric jti is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"jti": 7}), hs256(strategySecret)), false},
		{"a token with a numeric epoch is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"epoch": 7}), hs256(strategySecret)), false},
		{"a token without sub is refused", forge(t, hs256Header, with(valid, []string{"sub"}, nil), hs256(strategySecret)), false},
		{"a token with an empty sub is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"sub": ""}), hs256(strategySecret)), false},
		{"a token with a numeric sub is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"sub": 42}), hs256(strategySecret)), false},
		{"a token with a string exp is refused", forge(t, hs256Header, with(valid, nil, map[string]any{"exp": "never"}), hs256(strategySecret)), false},
		{"a token with an unknown crit extension is refused", forge(t, `{"alg":"HS256","typ":"JWT","crit":["x-ginusers-test"],"x-ginusers-test":true}`, valid, hs256(strategySecret)), false},
		{"a token with a crit list naming a missing header is refused", forge(t, `{"alg":"HS256","typ":"JWT","crit":["exp"]}`, valid, hs256(strategySecret)), false},
		{"a token with an empty crit list is refused", forge(t, `{"alg":"HS256","typ":"JWT","crit":[]}`, valid, hs256(strategySecret)), false},
		{"a token whose signature was altered is refused", goodParts[0] + "." + goodParts[1] + "." + string(tamperedSig), false},
		{"a signature in non-canonical base64 (unused bits set) is refused", goodParts[0] + "." + goodParts[1] + "." + loose, false},
		{"a signature one byte short is refused", goodParts[0] + "." + goodParts[1] + "." + goodParts[2][:40], false},
		{"a signature one byte long is refused", goodParts[0] + "." + goodParts[1] + "." + goodParts[2] + "AA", false},
		{"a payload in non-canonical base64 is refused", goodParts[0] + "." + goodParts[1] + "=" + "." + goodParts[2], false},
		{"a token whose claims were swapped, keeping the signature, is refused", goodParts[0] + "." + b64url.EncodeToString([]byte(`{"sub":"000000000000000000000000","aud":["fastapi-users:auth"],"iat":1,"exp":99999999999}`)) + "." + goodParts[2], false},
		{"a token without its signature is refused", goodParts[0] + "." + goodParts[1] + ".", false},
		{"a token without its signature part is refused", goodParts[0] + "." + goodParts[1], false},
		{"a token with a fourth part is refused", good + "." + goodParts[2], false},
		{"a token in JWE form (five parts) is refused", good + ".AAAA.BBBB", false},
		{"a token with padded base64 is refused", goodParts[0] + "==." + goodParts[1] + "." + goodParts[2], false},
		{"a token with 100,000 dots is refused", strings.Repeat(".", 100_000), false},
		{"a token of 1 MiB is refused", goodParts[0] + "." + strings.Repeat("A", 1<<20) + "." + goodParts[2], false},
		{"a token just under the length limit made of dots is refused", strings.Repeat(".", 8<<10-1), false},
		{"a token with a header nested 5000 deep is refused", b64url.EncodeToString([]byte(strings.Repeat("[", 5000))) + "." + goodParts[1] + "." + goodParts[2], false},
		{"a token with a header nested 100 deep is refused", b64url.EncodeToString([]byte(strings.Repeat("[", 100))) + "." + goodParts[1] + "." + goodParts[2], false},
		{"a token with a deeply nested header member is refused", b64url.EncodeToString([]byte(`{"alg":"HS256","x":`+strings.Repeat("[", 400)+`}`)) + "." + goodParts[1] + "." + goodParts[2], false},
		{"garbage is refused", "not a token", false},
		{"three empty parts are refused", "..", false},
		{"a token with a NUL byte is refused", good[:10] + "\x00" + good[10:], false},
		{"a token with invalid UTF-8 is refused", good[:10] + "\xff" + good[10:], false},
		{"a token given with its Bearer prefix is refused", "Bearer " + good, false},
		{"the empty string is refused", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var info ginusers.TokenInfo
			var err error
			within(t, 5*time.Second, func() { info, err = s.ReadToken(ctx, tt.token) })
			runtime.ReadMemStats(&after)
			if tt.ok {
				if err != nil || info.UserID != testUserID || info.ExpiresAt.IsZero() {
					t.Fatalf("ReadToken() = %+v, %v, want user %s with an expiry", info, err, testUserID)
				}
				return
			}
			if err == nil || !errors.Is(err, ginusers.ErrInvalidToken) {
				t.Fatalf("ReadToken() error = %v, want one wrapping ErrInvalidToken", err)
			}
			if info != (ginusers.TokenInfo{}) {
				t.Fatalf("ReadToken() info = %+v with an error, want the zero TokenInfo", info)
			}
			// Parsing is bounded: no input makes it allocate much more
			// than its own size (jwx's header parser once took 5 MB to
			// refuse a 7 KB header).
			if got, limit := after.TotalAlloc-before.TotalAlloc, 64<<10+16*uint64(len(tt.token)); got > limit {
				t.Fatalf("ReadToken() allocated %d bytes for a %d-byte token, want at most %d", got, len(tt.token), limit)
			}
		})
	}
}

func TestJWTStrategyReadTokenExpiresAt(t *testing.T) {
	ctx := context.Background()
	s := newJWT(t)
	before := time.Now().Truncate(time.Second)
	tok, err := s.WriteToken(ctx, ginusers.TokenSubject{UserID: testUserID, Epoch: "E1"})
	if err != nil {
		t.Fatalf("WriteToken() error = %v", err)
	}
	after := time.Now()
	info, err := s.ReadToken(ctx, tok)
	if err != nil {
		t.Fatalf("ReadToken() error = %v", err)
	}
	if info.UserID != testUserID || info.Epoch != "E1" || info.ExpiresAt.Before(before.Add(time.Hour)) || info.ExpiresAt.After(after.Add(time.Hour)) {
		t.Fatalf("ReadToken() = %+v, want user %s, epoch E1, expiring an hour after %v", info, testUserID, before)
	}
}

func TestJWTStrategyWriteTokenShape(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		opts     []ginusers.JWTOption
		lifetime int64
	}{
		{"a default token lives one hour", nil, 3600},
		{"a token with a 15-minute lifetime lives 900 seconds", []ginusers.JWTOption{ginusers.WithJWTLifetime(15 * time.Minute)}, 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := newJWT(t, tt.opts...).WriteToken(ctx, ginusers.TokenSubject{UserID: testUserID})
			if err != nil {
				t.Fatalf("WriteToken() error = %v", err)
			}
			hdr := decodePart(t, tok, 0)
			if len(hdr) != 2 || hdr["alg"] != "HS256" || hdr["typ"] != "JWT" {
				t.Errorf("header = %v, want exactly {\"alg\":\"HS256\",\"typ\":\"JWT\"}", hdr)
			}
			claims := decodePart(t, tok, 1)
			if len(claims) != 5 {
				t.Errorf("claims = %v, want exactly sub, aud, iat, exp and jti (no epoch: the user has none)", claims)
			}
			if jti, _ := claims["jti"].(string); len(jti) < 22 {
				t.Errorf("jti = %v, want a random id of at least 128 bits", claims["jti"])
			}
			if claims["sub"] != testUserID {
				t.Errorf("sub = %v, want %q", claims["sub"], testUserID)
			}
			if aud, ok := claims["aud"].([]any); !ok || len(aud) != 1 || aud[0] != ginusers.AudienceAuth {
				t.Errorf("aud = %#v, want [%q] (a list, as fastapi-users writes it)", claims["aud"], ginusers.AudienceAuth)
			}
			// Both are whole seconds (D5: PyJWT 2.6 refuses a fractional
			// iat within the current second).
			iat, err1 := claims["iat"].(json.Number).Int64()
			exp, err2 := claims["exp"].(json.Number).Int64()
			if err1 != nil || err2 != nil || exp-iat != tt.lifetime {
				t.Errorf("iat = %v, exp = %v, want numbers %d seconds apart", claims["iat"], claims["exp"], tt.lifetime)
			}
			if d := time.Since(time.Unix(iat, 0)); d < -time.Second || d > time.Minute {
				t.Errorf("iat = %d, want about now (%d)", iat, time.Now().Unix())
			}
		})
	}
}

func TestJWTStrategyAudiencesAreSeparate(t *testing.T) {
	ctx := context.Background()
	def := newJWT(t)
	custom := newJWT(t, ginusers.WithJWTAudience("my-app:auth"))
	tok, err := custom.WriteToken(ctx, ginusers.TokenSubject{UserID: testUserID})
	if err != nil {
		t.Fatalf("WriteToken() error = %v", err)
	}
	if aud := decodePart(t, tok, 1)["aud"]; !equalJSON(aud, []any{"my-app:auth"}) {
		t.Fatalf("aud = %v, want [\"my-app:auth\"]", aud)
	}
	if _, err := custom.ReadToken(ctx, tok); err != nil {
		t.Fatalf("ReadToken(own token) error = %v", err)
	}
	if _, err := def.ReadToken(ctx, tok); !errors.Is(err, ginusers.ErrInvalidToken) {
		t.Fatalf("default strategy ReadToken(token with audience my-app:auth) error = %v, want ErrInvalidToken", err)
	}
	tok, _ = def.WriteToken(ctx, ginusers.TokenSubject{UserID: testUserID})
	if _, err := custom.ReadToken(ctx, tok); !errors.Is(err, ginusers.ErrInvalidToken) {
		t.Fatalf("custom strategy ReadToken(token with audience fastapi-users:auth) error = %v, want ErrInvalidToken", err)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestJWTStrategyKeepsItsOwnCopyOfTheSecret(t *testing.T) {
	// An application that wipes its copy of the secret after start-up must
	// not leave the strategy signing with 32 zero bytes.
	ctx := context.Background()
	secret := bytes.Clone(strategySecret)
	s, err := ginusers.NewJWTStrategy(secret)
	if err != nil {
		t.Fatalf("NewJWTStrategy() error = %v", err)
	}
	tok, err := s.WriteToken(ctx, ginusers.TokenSubject{UserID: testUserID})
	if err != nil {
		t.Fatalf("WriteToken() error = %v", err)
	}
	clear(secret)
	if _, err := s.ReadToken(ctx, tok); err != nil {
		t.Fatalf("ReadToken() after the caller wiped its secret: error = %v, want nil", err)
	}
	forged := forge(t, hs256Header, claimsAt(time.Now()), hs256(make([]byte, 32)))
	if _, err := s.ReadToken(ctx, forged); !errors.Is(err, ginusers.ErrInvalidToken) {
		t.Fatalf("ReadToken(token signed with 32 zero bytes) error = %v, want ErrInvalidToken", err)
	}
}

func TestJWTStrategyDestroyToken(t *testing.T) {
	s := newJWT(t)
	if err := s.DestroyToken(context.Background(), "x"); !errors.Is(err, ginusers.ErrNotSupported) {
		t.Fatalf("DestroyToken() error = %v, want ErrNotSupported", err)
	}
}

func TestNewJWTStrategy(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		opts    []ginusers.JWTOption
		wantErr bool
	}{
		{"a 32-byte secret is accepted", strategySecret, nil, false},
		{"a 64-byte secret is accepted", bytes.Repeat(strategySecret, 2), nil, false},
		{"a custom audience is accepted", strategySecret, []ginusers.JWTOption{ginusers.WithJWTAudience("my-app:auth")}, false},
		{"a one-minute lifetime is accepted", strategySecret, []ginusers.JWTOption{ginusers.WithJWTLifetime(time.Minute)}, false},
		{"a nil secret is refused", nil, nil, true},
		{"an empty secret is refused", []byte{}, nil, true},
		{"a 31-byte secret is refused", strategySecret[:31], nil, true},
		{"a zero lifetime is refused", strategySecret, []ginusers.JWTOption{ginusers.WithJWTLifetime(0)}, true},
		{"a negative lifetime is refused", strategySecret, []ginusers.JWTOption{ginusers.WithJWTLifetime(-time.Hour)}, true},
		{"the verification audience is refused", strategySecret, []ginusers.JWTOption{ginusers.WithJWTAudience(ginusers.AudienceVerify)}, true},
		{"the reset audience is refused", strategySecret, []ginusers.JWTOption{ginusers.WithJWTAudience(ginusers.AudienceReset)}, true},
		{"the OAuth state audience is refused", strategySecret, []ginusers.JWTOption{ginusers.WithJWTAudience("fastapi-users:oauth-state")}, true},
		{"an empty audience is refused", strategySecret, []ginusers.JWTOption{ginusers.WithJWTAudience("")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ginusers.NewJWTStrategy(tt.secret, tt.opts...)
			if tt.wantErr {
				var ce *ginusers.ConfigError
				if s != nil || !errors.As(err, &ce) {
					t.Fatalf("NewJWTStrategy() = %v, %v, want nil, a *ConfigError", s, err)
				}
				return
			}
			if err != nil || s == nil {
				t.Fatalf("NewJWTStrategy() = %v, %v, want a strategy", s, err)
			}
		})
	}
}

// FuzzJWTRead checks that ReadToken never panics and accepts only tokens
// that WriteToken could have made with the key: three parts, an HS256
// header without crit, the right HMAC, the access audience, a subject, iat
// and an exp in the future. The oracle is written without the JWT library.
func FuzzJWTRead(f *testing.F) {
	s := newJWT(f)
	ctx := context.Background()
	tok, err := s.WriteToken(ctx, ginusers.TokenSubject{UserID: testUserID})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	f.Add(tok)
	f.Add(forge(f, hs256Header, claimsAt(now), hs256(strategySecret)))
	f.Add(forge(f, hs256Header, with(claimsAt(now), []string{"iat"}, nil), hs256(strategySecret)))
	f.Add(forge(f, `{"alg":"none","typ":"JWT"}`, claimsAt(now), noSignature))
	f.Add(forge(f, `{"alg":"HS512","typ":"JWT"}`, claimsAt(now), hmacSigner(sha512.New, strategySecret)))
	f.Add(forge(f, `{"alg":"HS256","crit":["x"],"x":1}`, claimsAt(now), hs256(strategySecret)))
	f.Add("")
	f.Add("..")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		info, err := s.ReadToken(ctx, token)
		if err != nil {
			if !errors.Is(err, ginusers.ErrInvalidToken) {
				t.Fatalf("ReadToken(%q) error = %v, want one wrapping ErrInvalidToken", token, err)
			}
			return
		}
		if why := notOurs(token, info); why != "" {
			t.Fatalf("ReadToken(%q) = %+v, nil, but the token is not one the strategy made: %s", token, info, why)
		}
	})
}

// notOurs says why token could not have been written by the strategy under
// test, or "" if it could.
func notOurs(token string, info ginusers.TokenInfo) string {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return "not three parts"
	}
	sig, err := b64url.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, hs256(strategySecret)([]byte(parts[0]+"."+parts[1]))) {
		return "signature is not the HS256 HMAC with the key"
	}
	var hdr map[string]any
	if b, err := b64url.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &hdr) != nil {
		return "header is not JSON"
	}
	if hdr["alg"] != "HS256" {
		return "alg is not HS256"
	}
	if _, ok := hdr["crit"]; ok {
		return "header has crit"
	}
	var claims struct {
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp *float64        `json:"exp"`
	}
	if b, err := b64url.DecodeString(parts[1]); err != nil || json.Unmarshal(b, &claims) != nil {
		return "claims are not JSON"
	}
	switch {
	case claims.Sub == "" || claims.Sub != info.UserID:
		return "sub is empty or not the user returned"
	case claims.Exp == nil:
		return "exp is missing"
	case time.Unix(int64(*claims.Exp), 0).Before(time.Now().Add(-time.Second)):
		return "exp is past"
	case !bytes.Contains(claims.Aud, []byte(`"`+ginusers.AudienceAuth+`"`)):
		return "aud is not the access audience"
	}
	return ""
}
