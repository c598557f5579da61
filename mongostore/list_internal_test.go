package mongostore

import (
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ginusers/kit/ginusers"
)

var cursorOrders = []string{"email", "email-desc", "id", "id-desc"}

func TestCursorRoundTrip(t *testing.T) {
	oid := bson.NewObjectID()
	for _, tt := range []struct {
		order string
		key   string
		want  any
	}{
		{"email", "king.arthur@camelot.bt", "king.arthur@camelot.bt"},
		{"email-desc", "иван@xn--e1afmkfd.xn--p1ai", "иван@xn--e1afmkfd.xn--p1ai"},
		{"email", "", ""},
		{"email", "a\x00b:c", "a\x00b:c"},
		{"id", oid.Hex(), oid},
		{"id-desc", oid.Hex(), oid},
	} {
		c := cursor(tt.order, tt.key)
		got, err := parseCursor(c, tt.order)
		if err != nil || got != tt.want {
			t.Fatalf("parseCursor(cursor(%q, %q)) = %v, %v; want %v", tt.order, tt.key, got, err, tt.want)
		}
		for _, other := range cursorOrders {
			if other == tt.order {
				continue
			}
			if _, err := parseCursor(c, other); !errors.Is(err, ginusers.ErrBadCursor) {
				t.Fatalf("parseCursor(cursor(%q, ...), %q) error = %v, want one wrapping %v", tt.order, other, err, ginusers.ErrBadCursor)
			}
		}
	}
	// A cursor naming an ID that is not canonical, or a key that is not
	// UTF-8, is refused even with a right checksum.
	for _, tt := range []struct{ order, key string }{
		{"id", strings.ToUpper(oid.Hex())},
		{"id", "not an id"},
		{"email", "\xff"},
	} {
		if _, err := parseCursor(cursor(tt.order, tt.key), tt.order); !errors.Is(err, ginusers.ErrBadCursor) {
			t.Fatalf("parseCursor(cursor(%q, %q)) error = %v, want one wrapping %v", tt.order, tt.key, err, ginusers.ErrBadCursor)
		}
	}
}

func TestLiteralPattern(t *testing.T) {
	for in, want := range map[string]string{
		"a.c":     `a\.c`,
		`(k|n)*$`: `\(k\|n\)\*\$`,
		"k\x00n":  `k\x00n`,
		"\xffx":   "\uFFFDx",
		"иван":    "иван",
	} {
		if got := literalPattern(in); got != want {
			t.Fatalf("literalPattern(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseCursor: a cursor from a URL never panics the parser, and one it
// accepts is exactly the cursor List would issue for its key.
func FuzzParseCursor(f *testing.F) {
	for _, o := range cursorOrders {
		key := "king.arthur@camelot.bt"
		if strings.HasPrefix(o, "id") {
			key = "65f0c0ffee0123456789abcd"
		}
		c := cursor(o, key)
		f.Add(c)
		f.Add(c[:len(c)-1])
	}
	f.Add("")
	f.Add("ZW1haWw6a2luZy5hcnRodXJAY2FtZWxvdC5idA")
	f.Fuzz(func(t *testing.T, c string) {
		for _, o := range cursorOrders {
			v, err := parseCursor(c, o)
			if err != nil {
				if !errors.Is(err, ginusers.ErrBadCursor) {
					t.Fatalf("parseCursor(%q, %q) error = %v, want one wrapping %v", c, o, err, ginusers.ErrBadCursor)
				}
				continue
			}
			key, ok := v.(string)
			if oid, isID := v.(bson.ObjectID); isID {
				key, ok = oid.Hex(), true
			}
			if !ok || cursor(o, key) != c {
				t.Fatalf("parseCursor(%q, %q) = %v, which List would encode as %q", c, o, v, cursor(o, key))
			}
		}
	})
}
