package console

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ginusers/kit/ginusers"
)

// FuzzParseSession: any cookie value is either refused or one whose halves
// are 32 bytes each, and re-encodes to itself (one value, one session).
func FuzzParseSession(f *testing.F) {
	f.Add(b64.EncodeToString(make([]byte, 32)) + "." + b64.EncodeToString(make([]byte, 32)))
	f.Add("")
	f.Add(".")
	f.Add("AAAA.BBBB")
	f.Add(strings.Repeat("A", 43) + "." + strings.Repeat("B", 43))
	f.Fuzz(func(t *testing.T, v string) {
		secret, ok := parseSession(v)
		if !ok {
			return
		}
		a, b, _ := strings.Cut(v, ".")
		if len(secret) != 32 || b64.EncodeToString(secret) != a || len(b) != 43 {
			t.Fatalf("parseSession(%q) accepted a value it did not issue", v)
		}
	})
}

// FuzzParseListQuery: any query string gives either an error or a query
// with values the console offers.
func FuzzParseListQuery(f *testing.F) {
	f.Add("q=knight&active=yes&verified=no&superuser=&sort=id&order=desc&limit=10&after=abc")
	f.Add("sort=hashed_password")
	f.Add("limit=-1")
	f.Add("q=%24regex&active=maybe")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lq, uq, err := parseListQuery(v)
		if err != nil {
			return
		}
		if uq.Sort != ginusers.SortByEmail && uq.Sort != ginusers.SortByID || lq.Limit < 1 || lq.Limit > ginusers.MaxListLimit ||
			(lq.Order != "asc" && lq.Order != "desc") || uq.Descending != (lq.Order == "desc") {
			t.Fatalf("parseListQuery(%q) = %+v %+v", raw, lq, uq)
		}
		for _, s := range []string{lq.Active, lq.Verified, lq.Superuser} {
			if s != "" && s != "yes" && s != "no" {
				t.Fatalf("parseListQuery(%q) kept the flag %q", raw, s)
			}
		}
	})
}
