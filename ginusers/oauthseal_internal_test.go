package ginusers

import "testing"

// BenchmarkSealOAuthTokens measures what sealing costs a sign-in: the
// access and the refresh token, each sealed once (AES-256-GCM, a fresh
// nonce, associated data).
func BenchmarkSealOAuthTokens(b *testing.B) {
	s, err := newTokenSealer([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	access := "ya29.a0AfB_byC" + string(make([]byte, 180)) // Google's access tokens are about 200 bytes
	refresh := "1//0gdp" + string(make([]byte, 96))
	b.ReportAllocs()
	for b.Loop() {
		s.seal(access, sealAD("665f1c2e8b3a4d5e6f708192", "google", "108234567890123456789", "access"))
		s.seal(refresh, sealAD("665f1c2e8b3a4d5e6f708192", "google", "108234567890123456789", "refresh"))
	}
}

// BenchmarkOpenOAuthTokens measures reading both tokens back.
func BenchmarkOpenOAuthTokens(b *testing.B) {
	s, _ := newTokenSealer([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	adA := sealAD("u", "google", "108", "access")
	adR := sealAD("u", "google", "108", "refresh")
	a := s.seal("ya29.a0AfB_byC"+string(make([]byte, 180)), adA)
	r := s.seal("1//0gdp"+string(make([]byte, 96)), adR)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.open(a, adA); err != nil {
			b.Fatal(err)
		}
		if _, err := s.open(r, adR); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSealedTokenTampered(t *testing.T) {
	s, _ := newTokenSealer([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	ad := sealAD("u", "google", "1", "access")
	tok := s.seal("secret", ad)
	for _, bad := range []string{tok[:len(tok)-1], tok + "A", "gu1." + tok[4:12] + ".", "gu1.nokey", "gu1.00000000." + tok[13:]} {
		if _, err := s.open(bad, ad); err == nil {
			t.Fatalf("open(%q) = nil error, want one", bad)
		}
	}
	// Length-prefixed parts: ("ab", "c") and ("a", "bc") differ.
	if string(sealAD("u", "ab", "c", "access")) == string(sealAD("u", "a", "bc", "access")) {
		t.Fatalf("sealAD() is ambiguous")
	}
}
