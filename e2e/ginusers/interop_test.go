package ginusers_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/argon2"

	"github.com/ginusers/kit/ginusers"
)

// These tests prove D5 from the outside: an independent JWT library
// (golang-jwt, strict options) verifies the tokens ginusers issues, and
// tokens built byte for byte as fastapi-users builds them (PyJWT) are
// accepted. example/pyjwt_test.go does the same with PyJWT itself.

// pyJWTHeader is the protected header PyJWT writes: its keys sorted, compact.
const pyJWTHeader = `{"alg":"HS256","typ":"JWT"}`

// fastAPIUsersToken signs payload as fastapi-users' generate_jwt does with
// PyJWT: the header above, the payload as json.dumps(payload,
// separators=(",", ":")) writes it (so the caller gives the claims in
// fastapi-users' order), HS256 with secret.
func fastAPIUsersToken(secret []byte, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	input := enc([]byte(pyJWTHeader)) + "." + enc([]byte(payload))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + enc(mac.Sum(nil))
}

// jsonString is s as a JSON string; the values used here are ASCII without
// characters that Python's json.dumps and Go escape differently.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fastAPIUsersAccess is fastapi-users' access token: JWTStrategy.write_token
// encodes {"sub": str(user.id), "aud": ["fastapi-users:auth"]} and
// generate_jwt adds exp (PyJWT writes a datetime as whole seconds).
func fastAPIUsersAccess(secret []byte, id string, exp time.Time) string {
	return fastAPIUsersToken(secret, fmt.Sprintf(`{"sub":%s,"aud":["fastapi-users:auth"],"exp":%d}`, jsonString(id), exp.Unix()))
}

// fastAPIUsersVerify is the token of BaseUserManager.request_verify.
func fastAPIUsersVerify(secret []byte, id, email string, exp time.Time) string {
	return fastAPIUsersToken(secret, fmt.Sprintf(`{"sub":%s,"email":%s,"aud":"fastapi-users:verify","exp":%d}`, jsonString(id), jsonString(email), exp.Unix()))
}

// fastAPIUsersReset is the token of BaseUserManager.forgot_password, whose
// password_fgpt is password_helper.hash(user.hashed_password).
func fastAPIUsersReset(secret []byte, id, fgpt string, exp time.Time) string {
	return fastAPIUsersToken(secret, fmt.Sprintf(`{"sub":%s,"password_fgpt":%s,"aud":"fastapi-users:reset","exp":%d}`, jsonString(id), jsonString(fgpt), exp.Unix()))
}

// argon2CFFIHash hashes s as argon2-cffi's PasswordHasher() does by default
// (pwdlib's Argon2Hasher, fastapi-users' default password helper):
// argon2id, v=19, m=65536 KiB, t=3, p=4, a 16-byte salt and a 32-byte hash,
// in the PHC string format with unpadded standard base64.
func argon2CFFIHash(s string, salt []byte) string {
	key := argon2.IDKey([]byte(s), salt, 3, 65536, 4, 32)
	b64 := base64.RawStdEncoding.EncodeToString
	return "$argon2id$v=19$m=65536,t=3,p=4$" + b64(salt) + "$" + b64(key)
}

// randomSalt is a fresh 16-byte salt, as argon2-cffi draws one.
func randomSalt(t *testing.T) []byte {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	return salt
}

func TestFastAPIUsersTokenBuildersMatchPython(t *testing.T) {
	// Made with Debian 12's python3-jwt (PyJWT 2.6.0):
	//   jwt.encode({...}, "a test secret that is long enough for HS256!", algorithm="HS256")
	// with the claims in the order fastapi-users writes them.
	const id = "64b7f0c2a1b2c3d4e5f60718"
	exp := time.Unix(1900000000, 0)
	// From testdata/python-password-hashes.json: argon2-cffi 21.1.0's
	// PasswordHasher().hash("correct horse battery staple").
	const cffiHash = "$argon2id$v=19$m=65536,t=3,p=4$yEfvkgGLFcaJPRAzoR668Q$vlwgRKPIe5PXirFNFAAzTBB/81Vrrd4hu+U9bMogmtk"
	tests := []struct {
		name, got, want string
	}{
		{"an access token is PyJWT's, byte for byte", fastAPIUsersAccess(testSecret, id, exp),
			"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI2NGI3ZjBjMmExYjJjM2Q0ZTVmNjA3MTgiLCJhdWQiOlsiZmFzdGFwaS11c2VyczphdXRoIl0sImV4cCI6MTkwMDAwMDAwMH0.Z5XM3YZLWH8ROhWi3BbPKVAgVqupnlmkC3UucXvx1KI"},
		{"a verify token is PyJWT's, byte for byte", fastAPIUsersVerify(testSecret, id, "king.arthur@camelot.bt", exp),
			"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI2NGI3ZjBjMmExYjJjM2Q0ZTVmNjA3MTgiLCJlbWFpbCI6ImtpbmcuYXJ0aHVyQGNhbWVsb3QuYnQiLCJhdWQiOiJmYXN0YXBpLXVzZXJzOnZlcmlmeSIsImV4cCI6MTkwMDAwMDAwMH0.ZsrtdRu7Mu2RL4CZlEM6CwPXNs1Yqo0GC1mc0xM1j0s"},
		{"a reset token is PyJWT's, byte for byte", fastAPIUsersReset(testSecret, id, cffiHash, exp),
			"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI2NGI3ZjBjMmExYjJjM2Q0ZTVmNjA3MTgiLCJwYXNzd29yZF9mZ3B0IjoiJGFyZ29uMmlkJHY9MTkkbT02NTUzNix0PTMscD00JHlFZnZrZ0dMRmNhSlBSQXpvUjY2OFEkdmx3Z1JLUEllNVBYaXJGTkZBQXpUQkIvODFWcnJkNGh1K1U5Yk1vZ210ayIsImF1ZCI6ImZhc3RhcGktdXNlcnM6cmVzZXQiLCJleHAiOjE5MDAwMDAwMDB9.x81TdAkti2kQca6WX2KAwafwP8EjwGcASQbdkqtSxiA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("built token = %s, want PyJWT's %s", tt.got, tt.want)
			}
		})
	}
	t.Run("the fingerprint hash is argon2-cffi's, byte for byte", func(t *testing.T) {
		salt, err := base64.RawStdEncoding.DecodeString(strings.Split(cffiHash, "$")[4])
		if err != nil {
			t.Fatal(err)
		}
		if got := argon2CFFIHash("correct horse battery staple", salt); got != cffiHash {
			t.Fatalf("argon2CFFIHash() = %s, want argon2-cffi's %s", got, cffiHash)
		}
	})
}

// golangJWTClaims are the claims ginusers' tokens carry, for golang-jwt.
type golangJWTClaims struct {
	jwt.RegisteredClaims
	Email        string `json:"email,omitempty"`
	PasswordFgpt string `json:"password_fgpt,omitempty"`
	Epoch        string `json:"epoch,omitempty"`
}

// nanosecondDates makes golang-jwt keep the fractions of NumericDates: by
// default it truncates them to jwt.TimePrecision (a second) when parsing,
// which would hide a fractional iat. PyJWT compares the number as written.
var nanosecondDates sync.Once

// verifyWithGolangJWT verifies token with golang-jwt's strict options: HS256
// only, the audience, exp required, iat checked, all at now.
func verifyWithGolangJWT(token string, secret []byte, aud string, now time.Time) (*golangJWTClaims, error) {
	nanosecondDates.Do(func() { jwt.TimePrecision = time.Nanosecond })
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithAudience(aud),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var c golangJWTClaims
	_, err := p.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return secret, nil })
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// rawParts returns a token's header as written and its claims as raw JSON.
func rawParts(t *testing.T, token string) (string, map[string]json.RawMessage) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts, want 3", token, len(parts))
	}
	hdr, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	payload, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]json.RawMessage
	if err := errors.Join(err1, err2, json.Unmarshal(payload, &claims)); err != nil {
		t.Fatalf("decode token %q: %v", token, err)
	}
	return string(hdr), claims
}

var wholeSeconds = regexp.MustCompile(`^[0-9]+$`)

func TestTokensVerifyWithGolangJWT(t *testing.T) {
	a, mb := flowApp(t)
	// Half a second into a second: a fractional iat would show.
	a.now = time.Unix(time.Now().Unix(), 500_000_000)
	issuedSecond := a.now.Truncate(time.Second)
	id := a.register("king.arthur@camelot.bt", "guinevere")["id"].(string)
	access := a.login("king.arthur@camelot.bt", "guinevere")
	verify := a.requestVerify(mb, "king.arthur@camelot.bt")
	reset := a.forgot(mb, "king.arthur@camelot.bt")
	if verify == "" || reset == "" {
		t.Fatalf("verify token %q, reset token %q: want both delivered", verify, reset)
	}
	audiences := []string{ginusers.AudienceAuth, ginusers.AudienceVerify, ginusers.AudienceReset}

	tests := []struct {
		name  string
		token string
		aud   string
		// rawAud is the aud claim exactly as written.
		rawAud string
		check  func(*golangJWTClaims) error
	}{
		{"an access token from /auth/jwt/login", access, ginusers.AudienceAuth, `["fastapi-users:auth"]`, func(c *golangJWTClaims) error {
			if len(c.ID) < 22 {
				return fmt.Errorf("jti = %q, want a random id", c.ID)
			}
			return nil
		}},
		{"a verify token from the request-verify hook", verify, ginusers.AudienceVerify, `"fastapi-users:verify"`, func(c *golangJWTClaims) error {
			if c.Email != "king.arthur@camelot.bt" {
				return fmt.Errorf("email = %q, want the user's", c.Email)
			}
			return nil
		}},
		{"a reset token from the forgot-password hook", reset, ginusers.AudienceReset, `"fastapi-users:reset"`, func(c *golangJWTClaims) error {
			if c.PasswordFgpt == "" {
				return errors.New("password_fgpt is empty")
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" verifies with golang-jwt in the second it was issued", func(t *testing.T) {
			c, err := verifyWithGolangJWT(tt.token, testSecret, tt.aud, issuedSecond)
			if err != nil {
				t.Fatalf("golang-jwt ParseWithClaims(%s, audience %s) error = %v, want nil", tt.token, tt.aud, err)
			}
			if c.Subject != id {
				t.Errorf("sub = %q, want the user's id %q", c.Subject, id)
			}
			if c.IssuedAt == nil || c.ExpiresAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) != time.Hour {
				t.Errorf("iat = %v, exp = %v, want both, an hour apart", c.IssuedAt, c.ExpiresAt)
			}
			if err := tt.check(c); err != nil {
				t.Error(err)
			}
		})
		t.Run(tt.name+" has integer iat and exp and aud "+tt.rawAud, func(t *testing.T) {
			hdr, claims := rawParts(t, tt.token)
			if hdr != pyJWTHeader {
				t.Errorf("header = %s, want %s", hdr, pyJWTHeader)
			}
			for _, k := range []string{"iat", "exp"} {
				if !wholeSeconds.Match(claims[k]) {
					t.Errorf("%s = %s, want an integer (whole seconds)", k, claims[k])
				}
			}
			if want := fmt.Sprint(issuedSecond.Unix()); string(claims["iat"]) != want {
				t.Errorf("iat = %s, want %s", claims["iat"], want)
			}
			if string(claims["aud"]) != tt.rawAud {
				t.Errorf("aud = %s, want %s", claims["aud"], tt.rawAud)
			}
		})
		t.Run(tt.name+" is refused by golang-jwt for other audiences", func(t *testing.T) {
			for _, other := range audiences {
				if other == tt.aud {
					continue
				}
				if _, err := verifyWithGolangJWT(tt.token, testSecret, other, issuedSecond); !errors.Is(err, jwt.ErrTokenInvalidAudience) {
					t.Errorf("golang-jwt ParseWithClaims(audience %s) error = %v, want ErrTokenInvalidAudience", other, err)
				}
			}
		})
	}
	t.Run("golang-jwt refuses a token issued after its clock (so the iat check is live)", func(t *testing.T) {
		_, err := verifyWithGolangJWT(access, testSecret, ginusers.AudienceAuth, issuedSecond.Add(-time.Second))
		if !errors.Is(err, jwt.ErrTokenUsedBeforeIssued) {
			t.Fatalf("golang-jwt ParseWithClaims() a second before iat: error = %v, want ErrTokenUsedBeforeIssued", err)
		}
	})
}

func TestFastAPIUsersTokensAreAccepted(t *testing.T) {
	a, _ := flowApp(t)
	exp := func() time.Time { return a.now.Add(time.Hour) }
	// newUser registers a user over HTTP and returns its id and stored
	// password hash.
	newUser := func(t *testing.T, email string) (string, string) {
		t.Helper()
		id := a.register(email, "guinevere")["id"].(string)
		return id, a.stored(id).HashedPassword
	}
	me := func(token string) response { return a.req("GET", "/users/me", nil, bearer(token)...) }

	t.Run("an access token authenticates /users/me", func(t *testing.T) {
		id, _ := newUser(t, "access@camelot.bt")
		r := me(fastAPIUsersAccess(testSecret, id, exp()))
		wantStatus(t, r, http.StatusOK)
		if r.Field("id") != id {
			t.Fatalf("GET /users/me = %s, want user %s", r.Body, id)
		}
	})
	t.Run("a verify token verifies the user", func(t *testing.T) {
		id, _ := newUser(t, "verify@camelot.bt")
		r := a.req("POST", "/auth/verify", map[string]any{"token": fastAPIUsersVerify(testSecret, id, "verify@camelot.bt", exp())})
		wantStatus(t, r, http.StatusOK)
		if r.Field("id") != id || r.Field("is_verified") != true {
			t.Fatalf("POST /auth/verify = %s, want user %s verified", r.Body, id)
		}
	})
	t.Run("a reset token with argon2-cffi's fingerprint resets the password once", func(t *testing.T) {
		id, hashed := newUser(t, "reset@camelot.bt")
		access := fastAPIUsersAccess(testSecret, id, exp())
		wantStatus(t, me(access), http.StatusOK)
		fgpt := argon2CFFIHash(hashed, randomSalt(t))
		tok := fastAPIUsersReset(testSecret, id, fgpt, exp())
		r := a.resetPassword(tok, "excalibur")
		if r.Code != http.StatusOK || r.Body != "null" {
			t.Fatalf("POST /auth/reset-password = %d %s, want 200 null", r.Code, r.Body)
		}
		a.login("reset@camelot.bt", "excalibur")
		wantDetail(t, a.resetPassword(tok, "excalibur-2"), http.StatusBadRequest, "RESET_PASSWORD_BAD_TOKEN")
		// The reset is a revocation event (D7).
		wantDetail(t, me(access), http.StatusUnauthorized, "Unauthorized")
	})
	t.Run("a reset token with another hash's fingerprint is a bad token", func(t *testing.T) {
		id, hashed := newUser(t, "reset-other@camelot.bt")
		fgpt := argon2CFFIHash(hashed+"x", randomSalt(t))
		wantDetail(t, a.resetPassword(fastAPIUsersReset(testSecret, id, fgpt, exp()), "excalibur"), http.StatusBadRequest, "RESET_PASSWORD_BAD_TOKEN")
	})

	// A fastapi-users token carries no epoch: it belongs to the empty
	// epoch, and dies at the user's first revocation event.
	events := []struct {
		name string
		do   func(t *testing.T, email, ginusersToken string)
	}{
		{"logging out everywhere with another token", func(t *testing.T, _, tok string) {
			wantStatus(t, a.req("POST", "/auth/logout-all", nil, bearer(tok)...), http.StatusNoContent)
		}},
		{"a password change through PATCH /users/me", func(t *testing.T, _, tok string) {
			wantStatus(t, a.req("PATCH", "/users/me", map[string]any{"password": "excalibur"}, bearer(tok)...), http.StatusOK)
		}},
		{"a deactivation (the user is then reactivated)", func(t *testing.T, email, _ string) {
			u := a.mustGetByEmail(email)
			for _, active := range []bool{false, true} {
				if _, err := a.m.Update(t.Context(), u, ginusers.UserUpdate[Fields]{Active: &active}); err != nil {
					t.Fatalf("Update(active %v) error = %v", active, err)
				}
				u = a.mustGetByEmail(email)
			}
		}},
	}
	for i, ev := range events {
		t.Run("an access token dies at "+ev.name, func(t *testing.T) {
			email := fmt.Sprintf("event%d@camelot.bt", i)
			id, _ := newUser(t, email)
			access := fastAPIUsersAccess(testSecret, id, exp())
			wantStatus(t, me(access), http.StatusOK)
			ev.do(t, email, a.login(email, "guinevere"))
			wantDetail(t, me(access), http.StatusUnauthorized, "Unauthorized")
			// So does one minted afterwards: the user's epoch is no
			// longer the empty one.
			wantDetail(t, me(fastAPIUsersAccess(testSecret, id, exp())), http.StatusUnauthorized, "Unauthorized")
		})
	}
	t.Run("an access token signed with another secret is refused", func(t *testing.T) {
		id, _ := newUser(t, "other-secret@camelot.bt")
		wantDetail(t, me(fastAPIUsersAccess([]byte("another secret that is long enough for HS256"), id, exp())), http.StatusUnauthorized, "Unauthorized")
	})
	t.Run("an expired access token is refused", func(t *testing.T) {
		id, _ := newUser(t, "expired@camelot.bt")
		wantDetail(t, me(fastAPIUsersAccess(testSecret, id, a.now)), http.StatusUnauthorized, "Unauthorized")
	})
}
