package ginusers_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ginusers/kit/ginusers"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{"a plain address is kept", "user@example.com", "user@example.com", false},
		{"surrounding white space is trimmed", " \t user@example.com\r\n ", "user@example.com", false},
		{"the domain is lower-cased and the local part kept", "John@EXAMPLE.com", "John@example.com", false},
		{"an upper-case local part is kept", "JOHN.DOE@Example.Org", "JOHN.DOE@example.org", false},
		{"a display name is reduced to the address", "Name <a@b.co>", "a@b.co", false},
		{"a quoted display name is reduced to the address", `"Doe, John" <John@EXAMPLE.com>`, "John@example.com", false},
		{"an address in angle brackets alone is accepted", "<a@b.co>", "a@b.co", false},
		{"a plus tag is kept", "user+tag@example.com", "user+tag@example.com", false},
		{"dots in the local part are kept", "first.last@example.com", "first.last@example.com", false},
		{"a subdomain is accepted", "a@mail.example.co.uk", "a@mail.example.co.uk", false},
		{"a hyphen inside a domain label is accepted", "a@my-host.example", "a@my-host.example", false},
		{"atext symbols in the local part are accepted", "a!#$%&'*+/=?^_`{|}~-@example.com", "a!#$%&'*+/=?^_`{|}~-@example.com", false},
		{"a Unicode address is accepted", "иван@пример.рф", "иван@пример.рф", false},
		{"a Unicode domain is lower-cased", "иван@ПРИМЕР.РФ", "иван@пример.рф", false},
		{"a Unicode local part keeps its case", "Иван@пример.рф", "Иван@пример.рф", false},
		{"a full-width domain is mapped to ASCII (UTS #46)", "alice@\uff45xample.com", "alice@example.com", false},
		{"an upper-case full-width domain is mapped and lower-cased", "alice@\uff25\uff38AMPLE.com", "alice@example.com", false},
		{"a punycode domain is stored in its Unicode form", "a@xn--bcher-kva.de", "a@bücher.de", false},
		{"an upper-case Unicode domain is folded", "a@BÜCHER.de", "a@bücher.de", false},
		{"the local part is not mapped: a full-width local part is kept", "\uff41lice@example.com", "\uff41lice@example.com", false},
		{"an address of 64 characters before the @ is accepted", strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com", false},

		{"the empty string is refused", "", "", true},
		{"white space alone is refused", "   ", "", true},
		{"an address without @ is refused", "user.example.com", "", true},
		{"an empty local part is refused", "@example.com", "", true},
		{"an empty domain is refused", "user@", "", true},
		{"a domain without a dot is refused", "user@localhost", "", true},
		{"two @ signs are refused", "a@b@example.com", "", true},
		{"a space in the local part is refused", "john doe@example.com", "", true},
		{"a space in the domain is refused", "john@exa mple.com", "", true},
		{"a tab inside is refused", "john\t@example.com", "", true},
		{"a newline inside is refused", "john@example.com\nBcc: x@evil.com", "", true},
		{"a NUL byte is refused", "john\x00@example.com", "", true},
		{"a no-break space inside is refused", "john\u00a0doe@example.com", "", true},
		{"an ideographic space inside is refused", "john\u3000doe@example.com", "", true},
		{"a line separator inside is refused", "john\u2028@example.com", "", true},
		{"a zero-width space inside is refused", "jo\u200bhn@example.com", "", true},
		{"a right-to-left override is refused", "john\u202e@example.com", "", true},
		{"a byte-order mark inside is refused", "jo\ufeffhn@example.com", "", true},
		{"a C1 control character is refused", "john\u0085@example.com", "", true},
		{"a C1 control character in the domain is refused", "john@exa\u009bmple.com", "", true},
		{"two dots in a row in the domain are refused", "a@b..com", "", true},
		{"a leading dot in the domain is refused", "a@.example.com", "", true},
		{"a trailing dot in the domain is refused", "a@example.com.", "", true},
		{"a leading hyphen in a domain label is refused", "a@-example.com", "", true},
		{"a trailing hyphen in a domain label is refused", "a@example-.com", "", true},
		{"an underscore in the domain is refused", "a@ex_ample.com", "", true},
		{"a domain label of 64 characters is refused", "a@" + strings.Repeat("b", 64) + ".com", "", true},
		{"a leading dot in the local part is refused", ".a@example.com", "", true},
		{"a trailing dot in the local part is refused", "a.@example.com", "", true},
		{"two dots in a row in the local part are refused", "a..b@example.com", "", true},
		{"65 characters before the @ are refused", strings.Repeat("a", 65) + "@example.com", "", true},
		{"an address over 2048 characters is refused", strings.Repeat("a", 60) + "@" + strings.Repeat("b.", 1000) + "com", "", true},
		{"an address of 10,000 characters is refused", strings.Repeat("a", 10_000) + "@example.com", "", true},
		{"invalid UTF-8 is refused", "jo\xffhn@example.com", "", true},
		{"a quoted local part is refused", `"john doe"@example.com`, "", true},
		{"a comment is refused", "john(comment)@example.com", "", true},
		{"an IP literal domain is refused", "john@[127.0.0.1]", "", true},
		{"a JSON operator object is refused", `{"$ne": ""}`, "", true},
		{"a JSON operator object with an address is refused", `{"$ne": "a@b.co"}`, "", true},
		{"a $regex object is refused", `{"$regex": ".*@example.com"}`, "", true},
		{"a $where string is refused", `a@b.co'; return true; var x='`, "", true},
		{"two addresses separated by a comma are refused", "a@b.co, c@d.co", "", true},
		{"two addresses with display names are refused", "A <a@b.co>, C <c@d.co>", "", true},
		{"an unclosed angle bracket is refused", "Name <a@b.co", "", true},
		{"an empty angle bracket is refused", "Name <>", "", true},
		{"a display name without an address is refused", "Name <user>", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ginusers.NormalizeEmail(tt.in)
			if tt.wantErr {
				if err == nil || got != "" {
					t.Fatalf("NormalizeEmail(%q) = %q, %v, want an error", tt.in, got, err)
				}
				if err.Error() == "" {
					t.Fatalf("NormalizeEmail(%q) error has no text", tt.in)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeEmail(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestEmailKey(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"addresses differing in the case of the local part have one key", "John@example.com", "john@example.com", true},
		{"addresses differing in Unicode case have one key", "Иван@пример.рф", "иван@пример.рф", true},
		{"different addresses have different keys", "john@example.com", "jon@example.com", false},
		{"a full-width domain is the ASCII domain (D3)", "alice@\uff45xample.com", "alice@example.com", true},
		{"a Unicode domain is its punycode form", "a@bücher.de", "A@XN--BCHER-KVA.DE", true},
		{"a dotless İ in the local part folds to i (one account, D3)", "al\u0130ce@example.com", "alice@example.com", true},
		{"a full-width local part is another address", "\uff41lice@example.com", "alice@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ginusers.EmailKey(tt.a) == ginusers.EmailKey(tt.b); got != tt.same {
				t.Fatalf("EmailKey(%q) == EmailKey(%q) is %v, want %v", tt.a, tt.b, got, tt.same)
			}
		})
	}
}

// FuzzNormalizeEmail checks that NormalizeEmail never panics, that its
// result is stable (normalising it again gives it back) and that an
// accepted address has the shape the stores rely on.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"user@example.com", " John@EXAMPLE.com ", "Name <a@b.co>", `"Doe, John" <John@EXAMPLE.com>`,
		"иван@ПРИМЕР.РФ", "user+tag@example.com", `{"$ne": ""}`, "a@b..com", "a@b@c.co", "",
		"<a@b.co>", "İ@İ.İ", "a@\u212a.com", "x@\u0130stanbul.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := ginusers.NormalizeEmail(in)
		if err != nil {
			if out != "" {
				t.Fatalf("NormalizeEmail(%q) = %q with error %v, want \"\"", in, out, err)
			}
			return
		}
		again, err := ginusers.NormalizeEmail(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeEmail(NormalizeEmail(%q) = %q) = %q, %v, want %q, nil", in, out, again, err, out)
		}
		at := strings.LastIndexByte(out, '@')
		if at <= 0 || at == len(out)-1 || strings.Count(out, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q, want exactly one @ between a local part and a domain", in, out)
		}
		if domain := out[at+1:]; domain != strings.ToLower(domain) || !strings.Contains(domain, ".") {
			t.Fatalf("NormalizeEmail(%q) = %q, want a lower-case domain with a dot", in, out)
		}
		if len(out) > 2048 || !utf8.ValidString(out) {
			t.Fatalf("NormalizeEmail(%q) = %q, want valid UTF-8 of at most 2048 bytes", in, out)
		}
		for _, r := range out {
			if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("NormalizeEmail(%q) = %q, which holds %U", in, out, r)
			}
		}
	})
}

func TestEmailUnicodeForms(t *testing.T) {
	composed, decomposed := "jos\u00e9@example.com", "jose\u0301@example.com"
	if ginusers.EmailKey(composed) != ginusers.EmailKey(decomposed) {
		t.Fatalf("EmailKey(%q) != EmailKey(%q)", composed, decomposed)
	}
	got, err := ginusers.NormalizeEmail(decomposed)
	if err != nil || got != composed {
		t.Fatalf("NormalizeEmail(%q) = %q, %v; want the composed form %q", decomposed, got, err, composed)
	}
}
