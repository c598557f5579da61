package console_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ginusers/kit/ginusers"
)

var rowEmail = regexp.MustCompile(`<th scope="row" class="email"><a href="[^"]*">([^<]*)</a>`)

// emails returns the addresses of the list's rows, in order.
func emails(body string) []string {
	var out []string
	for _, m := range rowEmail.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

var nextLink = regexp.MustCompile(`<a href="([^"]*)" rel="next">`)

func TestListSearchFiltersOrderAndCursorPages(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	ctx := t.Context()
	no := false
	var made []string
	for i := range 9 {
		email := fmt.Sprintf("knight%d@camelot.bt", i)
		u := e.user(email, "round-table", false)
		made = append(made, email)
		switch {
		case i%3 == 0:
			if _, err := e.m.Update(ctx, u, ginusers.UserUpdate[Profile]{Active: &no}); err != nil {
				t.Fatal(err)
			}
		case i%3 == 1:
			if _, err := e.m.Update(ctx, u, ginusers.UserUpdate[Profile]{Verified: &no}); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.user("Guinevere@Camelot.bt", "lancelot!", false)
	e.user("a.b*c@camelot.bt", "lancelot!", false)
	b := e.browser()
	b.signIn(adminEmail, adminPassword)

	p := b.get("/users")
	wantStatus(t, "GET /users", p, 200)
	if got := emails(p.body); len(got) != 12 || got[0] != "a.b*c@camelot.bt" || got[11] != "knight8@camelot.bt" {
		t.Errorf("the first page = %q, want the 12 users by e-mail", got)
	}
	if !strings.Contains(p.body, "Users: 12. Active: 9. Active administrators: 1.") {
		t.Errorf("the counts are missing:\n%s", p.body)
	}

	for _, tt := range []struct {
		name, query string
		want        []string
		matching    int
	}{
		{"search, case-insensitive", "q=GUINEVERE", []string{"Guinevere@camelot.bt"}, 1},
		{"a search is text, not a pattern", "q=" + url.QueryEscape("b*c"), []string{"a.b*c@camelot.bt"}, 1},
		{"a pattern matches nothing", "q=" + url.QueryEscape("knight.*"), nil, 0},
		{"an operator matches nothing", "q=" + url.QueryEscape(`{"$ne": ""}`), nil, 0},
		{"inactive", "active=no", []string{"knight0@camelot.bt", "knight3@camelot.bt", "knight6@camelot.bt"}, 3},
		{"unverified", "verified=no", []string{"knight1@camelot.bt", "knight4@camelot.bt", "knight7@camelot.bt"}, 3},
		{"superusers", "superuser=yes", []string{adminEmail}, 1},
		{"search and filters together", "q=knight&active=yes&verified=yes", []string{"knight2@camelot.bt", "knight5@camelot.bt", "knight8@camelot.bt"}, 3},
		{"by creation, newest first", "q=knight&sort=id&order=desc&limit=3", []string{"knight8@camelot.bt", "knight7@camelot.bt", "knight6@camelot.bt"}, 9},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get("/users?" + tt.query)
			wantStatus(t, "GET /users?"+tt.query, p, 200)
			if got := emails(p.body); !slices.Equal(got, tt.want) {
				t.Errorf("rows = %q, want %q", got, tt.want)
			}
			if want := fmt.Sprintf("Matching the search: %d.", tt.matching); !strings.Contains(p.body, want) {
				t.Errorf("the page does not say %q", want)
			}
		})
	}

	t.Run("pages follow the cursor, forward, and back to the first", func(t *testing.T) {
		for _, order := range []string{"sort=email", "sort=email&order=desc", "sort=id", "sort=id&order=desc"} {
			var seen []string
			link := "/users?" + order + "&limit=4"
			pages := 0
			for link != "" {
				p := b.get(strings.TrimPrefix(link, "/admin"))
				wantStatus(t, "GET "+link, p, 200)
				seen = append(seen, emails(p.body)...)
				pages++
				if pages > 1 && !strings.Contains(p.body, ">First page</a>") {
					t.Errorf("page %d has no link to the first page", pages)
				}
				link = ""
				if m := nextLink.FindStringSubmatch(p.body); m != nil {
					link = html.UnescapeString(m[1])
					u, _ := url.Parse(link)
					want, _ := url.ParseQuery(order)
					got := u.Query()
					if got.Get("limit") != "4" || got.Get("after") == "" || got.Get("sort") != strings.TrimSuffix(want.Get("sort"), "email") || got.Get("order") != want.Get("order") {
						t.Errorf("the next link %q lost the query %q", link, order)
					}
				}
			}
			want := append(slices.Clone(made), adminEmail, "Guinevere@camelot.bt", "a.b*c@camelot.bt")
			sorted := slices.Clone(seen)
			slices.Sort(sorted)
			slices.Sort(want)
			if pages != 3 || !slices.Equal(sorted, want) {
				t.Errorf("%s: %d pages with %q, want 3 pages with every user once", order, pages, seen)
			}
		}
	})

	for _, q := range []string{"sort=email_key", "sort=hashed_password", "order=up", "active=maybe", "limit=0", "limit=501", "limit=x", "after=bm90IGEgY3Vyc29y", "sort=id&after=" + cursorOf(t, b, "sort=email&limit=1")} {
		t.Run("refused: "+q, func(t *testing.T) {
			p := b.get("/users?" + q)
			wantStatus(t, "GET /users?"+q, p, http.StatusBadRequest)
			if !strings.Contains(p.body, `role="alert"`) {
				t.Errorf("not an error page:\n%s", p.body)
			}
		})
	}
}

// cursorOf returns the cursor of the next page of the list with query.
func cursorOf(t *testing.T, b *browser, query string) string {
	t.Helper()
	p := b.get("/users?" + query)
	m := nextLink.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no next page for %s", query)
	}
	u, _ := url.Parse(html.UnescapeString(m[1]))
	return url.QueryEscape(u.Query().Get("after"))
}
