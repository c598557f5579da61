package ginusers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ginusers/kit/ginusers"
)

func TestBearerTransportToken(t *testing.T) {
	tests := []struct {
		name    string
		headers []string // Authorization header values, in order
		want    string
	}{
		{"a Bearer header gives its token", []string{"Bearer x"}, "x"},
		{"a lower-case bearer scheme gives its token", []string{"bearer x"}, "x"},
		{"an upper-case BEARER scheme gives its token", []string{"BEARER x"}, "x"},
		{"a mixed-case scheme gives its token", []string{"BeArEr x"}, "x"},
		{"spaces around the token are trimmed", []string{"Bearer   x  "}, "x"},
		{"a real-looking token is returned whole", []string{"Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc-_"}, "eyJhbGciOiJIUzI1NiJ9.e30.abc-_"},
		{"a Bearerx prefix gives no token", []string{"Bearerx"}, ""},
		{"a Bearerx prefix with more gives no token", []string{"Bearerxyz abc"}, ""},
		{"a Basic header gives no token", []string{"Basic x"}, ""},
		{"a Token scheme gives no token", []string{"Token x"}, ""},
		{"an empty header gives no token", []string{""}, ""},
		{"no header gives no token", nil, ""},
		{"the scheme alone gives no token", []string{"Bearer"}, ""},
		{"the scheme and a space give no token", []string{"Bearer "}, ""},
		{"the scheme and spaces give no token", []string{"Bearer    "}, ""},
		{"a tab after the scheme gives no token", []string{"Bearer\tx"}, ""},
		{"a token without a scheme gives no token", []string{"x"}, ""},
		{"a leading space before the scheme gives no token", []string{" Bearer x"}, ""},
		{"a short multi-byte header gives no token", []string{"Беарер x"}, ""},
		{"the first of two headers is used", []string{"Bearer first", "Bearer second"}, "first"},
	}
	tr := ginusers.NewBearerTransport()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/users/me", nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			if got := tr.Token(r); got != tt.want {
				t.Fatalf("Token(Authorization: %q) = %q, want %q", tt.headers, got, tt.want)
			}
		})
	}
}

func TestBearerTransportScheme(t *testing.T) {
	if got := ginusers.NewBearerTransport().Scheme(); got != "Bearer" {
		t.Fatalf("Scheme() = %q, want %q", got, "Bearer")
	}
}
