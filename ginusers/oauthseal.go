package ginusers

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// oauthKeySize is the size of the keys of [WithOAuthTokenKey] (AES-256).
const oauthKeySize = 32

// sealedPrefix starts every token sealed by a tokenSealer:
// "gu1.<key id>.<base64url(nonce || ciphertext || tag)>". A stored token
// without it is a plaintext token written by fastapi-users.
const sealedPrefix = "gu1."

// tokenSealer seals provider tokens with AES-256-GCM. The first key seals;
// every key opens, found by its id (the first 4 bytes of its SHA-256, in
// hex), so that keys can be rotated.
type tokenSealer struct {
	ids   []string
	aeads []cipher.AEAD
}

func newTokenSealer(keys [][]byte) (*tokenSealer, error) {
	s := &tokenSealer{}
	for _, k := range keys {
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, configErrorf("WithOAuthTokenKey: %v", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, configErrorf("WithOAuthTokenKey: %v", err)
		}
		sum := sha256.Sum256(k)
		s.ids = append(s.ids, hex.EncodeToString(sum[:4]))
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// sealAD is the associated data that binds a sealed token to its user,
// provider, account and kind ("access" or "refresh"): a sealed token
// copied into another entry, another user or the other field does not
// open. The parts are length-prefixed, so no two tuples share a form.
func sealAD(userID, oauthName, accountID, kind string) []byte {
	ad := make([]byte, 0, 32+len(userID)+len(oauthName)+len(accountID)+len(kind))
	ad = append(ad, "ginusers-oauth-token-v1"...)
	for _, p := range []string{userID, oauthName, accountID, kind} {
		ad = fmt.Appendf(ad, "|%d:", len(p))
		ad = append(ad, p...)
	}
	return ad
}

// seal returns plaintext sealed for ad; "" stays "".
func (s *tokenSealer) seal(plaintext string, ad []byte) string {
	if plaintext == "" {
		return ""
	}
	aead := s.aeads[0]
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go >= 1.24)
	buf = aead.Seal(buf, buf, []byte(plaintext), ad)
	return sealedPrefix + s.ids[0] + "." + base64.RawURLEncoding.EncodeToString(buf)
}

// errSealed marks a sealed token that cannot be opened: another key, or
// associated data that does not match (the token was moved), or damage.
var errSealed = errors.New("ginusers: sealed OAuth token cannot be opened")

// open returns the plaintext of stored: stored itself when it is not
// sealed (a plaintext token written by fastapi-users), "" for "".
func (s *tokenSealer) open(stored string, ad []byte) (string, error) {
	rest, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, nil
	}
	id, enc, ok := strings.Cut(rest, ".")
	if !ok {
		return "", errSealed
	}
	for i, kid := range s.ids {
		if kid != id {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(enc)
		aead := s.aeads[i]
		if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
			return "", errSealed
		}
		pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], ad)
		if err != nil {
			return "", errSealed
		}
		return string(pt), nil
	}
	return "", fmt.Errorf("%w: unknown key %q", errSealed, id)
}

// isSealed reports whether a stored token is sealed.
func isSealed(stored string) bool { return strings.HasPrefix(stored, sealedPrefix) }
