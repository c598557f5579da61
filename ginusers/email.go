package ginusers

import (
	"errors"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// maxEmailLength is the longest accepted address, as in fastapi-users' schemas.
const maxEmailLength = 2048

// NormalizeEmail checks that s is an e-mail address and returns its
// normalised form, the one stored: surrounding white space removed,
// Unicode normalization form C applied, a display name ("Name <addr>")
// reduced to the address, and the domain mapped by IDNA's UTS #46 rules
// (lower case, full-width and other compatibility forms folded), in its
// Unicode form; the local part keeps its case. It returns an error whose text
// explains what is wrong, fit to show to the client.
func NormalizeEmail(s string) (string, error) {
	s = norm.NFC.String(strings.TrimSpace(s))
	if s == "" {
		return "", errors.New("an email address must have an @-sign")
	}
	if len(s) > maxEmailLength {
		return "", errors.New("the email address is too long")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("the email address is not valid UTF-8")
	}
	addr := s
	if strings.ContainsAny(s, "<>") {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return "", errors.New("the email address is not valid")
		}
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", errors.New("an email address must have an @-sign")
	}
	local, domain := addr[:at], addr[at+1:]
	if local == "" {
		return "", errors.New("there must be something before the @-sign")
	}
	if domain == "" {
		return "", errors.New("there must be something after the @-sign")
	}
	if len(local) > 64 {
		return "", errors.New("the email address is too long before the @-sign")
	}
	for _, r := range addr {
		if r <= ' ' || r == 0x7f || r == '"' || r == '(' || r == ')' || r == ',' || r == ':' || r == ';' || r == '<' || r == '>' || r == '[' || r == ']' || r == '\\' {
			return "", errors.New("the email address contains invalid characters")
		}
		// Unicode spaces, controls and invisible format characters (no-break
		// space, C1 controls, zero-width space, bidi overrides), as
		// email-validator refuses them: they make look-alike addresses.
		if r >= 0x80 && unicode.In(r, unicode.Z, unicode.C) {
			return "", errors.New("the email address contains invalid characters")
		}
	}
	if strings.Contains(local[:], "@") {
		return "", errors.New("the email address contains invalid characters before the @-sign")
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", errors.New("the email address contains a period in an invalid position")
	}
	// UTS #46 mapping (IDNA's lookup profile): case folded, full-width and
	// other compatibility forms mapped, so "ｅxample.com", "EXAMPLE.com"
	// and "example.com" are one domain (D3). The stored form is Unicode.
	domain, err := idna.Lookup.ToUnicode(domain)
	if err != nil {
		return "", errors.New("the part after the @-sign is not valid IDNA")
	}
	if !strings.Contains(domain, ".") {
		return "", errors.New("the part after the @-sign is not valid: it should have a period")
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") || len(label) > 63 {
			return "", errors.New("the part after the @-sign is not valid")
		}
		for _, r := range label {
			if !(r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 0x80) {
				return "", errors.New("the part after the @-sign contains invalid characters")
			}
		}
	}
	return local + "@" + domain, nil
}
