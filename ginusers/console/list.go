package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// listQuery is the users list's query, as its form and links carry it.
type listQuery struct {
	// Q is the e-mail search: a case-insensitive substring, never a
	// pattern.
	Q string
	// Active, Verified and Superuser are "", "yes" or "no".
	Active, Verified, Superuser string
	// Sort is "email" or "id"; Order "asc" or "desc".
	Sort, Order string
	// After is the cursor of the page; Limit the page size.
	After string
	Limit int
}

// values returns q as URL parameters, without after when first is set.
func (q listQuery) values(first bool) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", q.Q)
	set("active", q.Active)
	set("verified", q.Verified)
	set("superuser", q.Superuser)
	if q.Sort != "email" {
		set("sort", q.Sort)
	}
	if q.Order != "asc" {
		set("order", q.Order)
	}
	if q.Limit != ginusers.DefaultListLimit {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if !first {
		set("after", q.After)
	}
	return v
}

// userRow is a user as the list shows them.
type userRow struct {
	ID, Email                   string
	Active, Verified, Superuser bool
	// Self: the signed-in administrator.
	Self bool
	// URL is the user's page.
	URL string
}

// listData is the data of the users list (users.html).
type listData struct {
	Query listQuery
	Users []userRow
	// Matching is how many users the search and filters select; Filtered
	// whether there are any. Total, Active and Admins count all users,
	// the active ones and the active superusers.
	Matching              int64
	Filtered              bool
	Total, Active, Admins int64
	// NextURL is the next page, FirstURL the first (empty when there is
	// none, or on the first page).
	NextURL, FirstURL string
	// BulkActions are the actions offered for the selected users.
	BulkActions []option
}

// option is a choice of a select.
type option struct{ Value, Label string }

// errBadQuery: a listing parameter is not one the console offers.
var errBadQuery = errors.New("console: bad listing parameter")

// parseListQuery reads the list's query from the URL: every value is
// checked against what the form offers (the order comes from an allowlist,
// never from the request as a field name).
func parseListQuery(v url.Values) (listQuery, ginusers.UserQuery, error) {
	lq := listQuery{Q: v.Get("q"), After: v.Get("after"), Sort: "email", Order: "asc", Limit: ginusers.DefaultListLimit}
	var uq ginusers.UserQuery
	uq.Email, uq.After = lq.Q, lq.After
	if len(lq.Q) > 320 {
		return lq, uq, errBadQuery
	}
	for _, f := range []struct {
		name string
		dst  *string
		flag **bool
	}{{"active", &lq.Active, &uq.Active}, {"verified", &lq.Verified, &uq.Verified}, {"superuser", &lq.Superuser, &uq.Superuser}} {
		switch s := v.Get(f.name); s {
		case "":
		case "yes", "no":
			*f.dst = s
			b := s == "yes"
			*f.flag = &b
		default:
			return lq, uq, errBadQuery
		}
	}
	sort, ok := ginusers.ParseUserSort(v.Get("sort"))
	if !ok {
		return lq, uq, errBadQuery
	}
	uq.Sort, lq.Sort = sort, sort.String()
	switch v.Get("order") {
	case "", "asc":
	case "desc":
		uq.Descending, lq.Order = true, "desc"
	default:
		return lq, uq, errBadQuery
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > ginusers.MaxListLimit {
			return lq, uq, errBadQuery
		}
		lq.Limit = n
	}
	uq.Limit = lq.Limit
	return lq, uq, nil
}

// listPage shows a page of users: the search, the filters, the counts, a
// table with a check box per user for the bulk actions, and links to the
// next page and back to the first. Pages follow the store's cursor: no
// page is found by skipping rows.
func (c *console[F]) listPage(g *gin.Context, req *request[F]) {
	lq, uq, err := parseListQuery(g.Request.URL.Query())
	if err != nil {
		c.errorPage(g, req, http.StatusBadRequest, "error.bad_query")
		return
	}
	ctx := g.Request.Context()
	pg, err := c.m.ListUsers(ctx, uq)
	if errors.Is(err, ginusers.ErrBadCursor) {
		c.errorPage(g, req, http.StatusBadRequest, "error.bad_cursor")
		return
	}
	if err != nil {
		c.fail(g, req, err)
		return
	}
	d := listData{Query: lq, Filtered: uq.Email != "" || uq.Active != nil || uq.Verified != nil || uq.Superuser != nil}
	yes := true
	for _, n := range []struct {
		dst *int64
		q   ginusers.UserQuery
	}{
		{&d.Matching, uq},
		{&d.Total, ginusers.UserQuery{}},
		{&d.Active, ginusers.UserQuery{Active: &yes}},
		{&d.Admins, ginusers.UserQuery{Active: &yes, Superuser: &yes}},
	} {
		if *n.dst, err = c.m.CountUsers(ctx, n.q); err != nil {
			c.fail(g, req, err)
			return
		}
	}
	for _, u := range pg.Users {
		d.Users = append(d.Users, c.row(u, req))
	}
	if pg.Next != "" {
		next := lq
		next.After = pg.Next
		d.NextURL = c.base + "/users?" + next.values(false).Encode()
	}
	if lq.After != "" {
		d.FirstURL = c.base + "/users"
		if v := lq.values(true).Encode(); v != "" {
			d.FirstURL += "?" + v
		}
	}
	for _, a := range bulkActions {
		d.BulkActions = append(d.BulkActions, option{Value: a, Label: c.msg("action." + a)})
	}
	c.render(g, req, http.StatusOK, "users", &page{Data: d})
}

func (c *console[F]) row(u *ginusers.User[F], req *request[F]) userRow {
	return userRow{
		ID: u.ID, Email: u.Email, Active: u.Active, Verified: u.Verified, Superuser: u.Superuser,
		Self: u.ID == req.admin.ID, URL: c.base + "/users/" + url.PathEscape(u.ID),
	}
}
