package oauth

import "testing"

// FuzzRedirectAllowlist: a target is allowed only when it is one of the
// listed targets, byte for byte.
func FuzzRedirectAllowlist(f *testing.F) {
	for _, s := range []string{"/account", "//evil.example", "/\\evil.example", "https://app.example/welcome",
		"https://app.example@evil.example/welcome", "https://app.example.evil/welcome", "/account/", "%2Faccount"} {
		f.Add(s)
	}
	list := []string{"/account", "https://app.example/welcome"}
	r, err := newRedirects(list)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, target string) {
		if r.allows(target) && target != list[0] && target != list[1] {
			t.Fatalf("allows(%q) = true for a target not on the list", target)
		}
		_ = checkRedirectTarget(target) // never panics
	})
}

// FuzzParseFlowSecret: the CSRF cookie's value is untrusted; only the
// canonical encoding of 32 bytes parses, and it round-trips.
func FuzzParseFlowSecret(f *testing.F) {
	s := newFlowSecret()
	for _, v := range []string{s.cookieValue(), "", "=", s.cookieValue() + "=", "AAAA"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, ok := parseFlowSecret(v)
		if ok && got.cookieValue() != v {
			t.Fatalf("parseFlowSecret(%q) accepted a non-canonical value", v)
		}
	})
}
