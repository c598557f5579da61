package account

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzLocalPath: a path that localPath accepts stays on the site when a
// browser resolves it, also as browsers read it (a backslash as a slash,
// tabs and line breaks dropped).
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{
		"/", "/orders?id=1", "//evil.example", `/\evil.example`, "https://evil.example",
		"javascript:alert(1)", "/\t/evil.example", "/%2F%2Fevil.example", "/a/../../b", "/@evil.example",
		"/:evil", "/?next=//evil.example", "/#//evil", "\x00/", "/é",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/account/sign-in")
	f.Fuzz(func(t *testing.T, s string) {
		if !localPath(s) {
			return
		}
		for _, read := range []string{
			s,
			strings.ReplaceAll(s, `\`, "/"),
			strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s),
		} {
			u, err := url.Parse(read)
			if err != nil {
				t.Fatalf("localPath(%q) = true, but %q does not parse: %v", s, read, err)
			}
			if r := base.ResolveReference(u); r.Scheme != "https" || r.Host != "app.example" || r.User != nil {
				t.Fatalf("localPath(%q) = true, but it resolves to %s", s, r)
			}
		}
	})
}
