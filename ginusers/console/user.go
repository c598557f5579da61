package console

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// userData is the data of the user page (user.html).
type userData struct {
	User userRow
	// Fields are the form's controls: the e-mail address, the verified
	// flag, then the application's fields.
	Fields []fieldView
	// Actions are the buttons of the actions section, each a form posted
	// to its Path; DeleteURL the delete confirmation page (empty for the
	// administrator's own account).
	Actions   []actionView
	DeleteURL string
	// SaveURL is where the form is posted.
	SaveURL string
	// Linked are the user's provider accounts (package oauth), without
	// their tokens.
	Linked []linkedView
}

// linkedView is a provider account linked to the user.
type linkedView struct {
	// Provider is the provider's name ("oidc", "github"); AccountEmail the
	// address it gave at the last sign-in.
	Provider, AccountEmail string
}

// actionView is an action button of the user page.
type actionView struct {
	Name, Label, Path string
	// Danger marks actions that end something (deactivate, demote, log
	// out everywhere), styled apart.
	Danger bool
}

// userPage shows every field of a user (never the password hash), the
// form to edit them, and the actions.
func (c *console[F]) userPage(g *gin.Context, req *request[F]) {
	u, err := c.m.Get(g.Request.Context(), g.Param("id"))
	if err != nil {
		c.fail(g, req, err)
		return
	}
	c.renderUser(g, req, http.StatusOK, u, nil, nil, "")
}

// renderUser shows the user page of u; after a failed save, with the
// submitted form, its errors by field, and an error about the whole page.
func (c *console[F]) renderUser(g *gin.Context, req *request[F], status int, u *ginusers.User[F], submitted url.Values, errs map[string]string, pageErr string) {
	row := c.row(u, req)
	d := userData{User: row, SaveURL: row.URL}
	for _, a := range u.OAuthAccounts {
		d.Linked = append(d.Linked, linkedView{Provider: a.OAuthName, AccountEmail: a.AccountEmail})
	}
	email := fieldView{Input: "email", ID: fieldID("email"), Label: c.msg("field.email"), Kind: kindEmail, Value: u.Email, Was: u.Email, Error: errs["email"], Autocomplete: "off"}
	verified := fieldView{Input: "is_verified", ID: fieldID("is_verified"), Label: c.msg("field.is_verified"), Kind: kindCheckbox, Value: boolString(u.Verified), Was: boolString(u.Verified), Error: errs["is_verified"], Hint: c.msg("hint.is_verified")}
	if submitted != nil {
		for _, f := range []*fieldView{&email, &verified} {
			f.Value = submittedValue(submitted, f.Input, f.Kind)
			if submitted.Has("was." + f.Input) {
				f.Was = submitted.Get("was." + f.Input)
			}
		}
	}
	verified.Checked = verified.Value == "true"
	d.Fields = append([]fieldView{email, verified}, c.form.views(reflect.ValueOf(&u.Fields).Elem(), errs, submitted)...)
	for _, a := range c.userActions(u, row.Self) {
		d.Actions = append(d.Actions, actionView{Name: a, Label: c.msg("action." + a), Path: row.URL + "/" + a, Danger: a == "deactivate" || a == "demote" || a == "logout-all"})
	}
	if !row.Self {
		d.DeleteURL = row.URL + "/delete"
	}
	c.render(g, req, status, "user", &page{Data: d, Error: pageErr})
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// userActions are the actions the user page offers for u: those that
// would change something, without those the guard rails forbid on
// oneself.
func (c *console[F]) userActions(u *ginusers.User[F], self bool) []string {
	var out []string
	switch {
	case !u.Active:
		out = append(out, "activate")
	case !self:
		out = append(out, "deactivate")
	}
	switch {
	case !u.Superuser:
		out = append(out, "promote")
	case !self:
		out = append(out, "demote")
	}
	if !u.Verified {
		out = append(out, "verify")
	}
	if u.Active {
		out = append(out, "reset-password")
	}
	return append(out, "logout-all")
}

// save writes the user page's form: the e-mail address, the verified flag
// and the application's fields, those that changed only, in one
// [ginusers.Manager.Update] (hooks fire; a new address makes the user
// unverified unless the flag was changed too). Errors are shown next to
// their fields, with 422.
func (c *console[F]) save(g *gin.Context, req *request[F]) {
	ctx := g.Request.Context()
	u, err := c.m.Get(ctx, g.Param("id"))
	if err != nil {
		c.fail(g, req, err)
		return
	}
	form := g.Request.PostForm
	var upd ginusers.UserUpdate[F]
	if changed(form, "email", kindEmail) {
		e := form.Get("email")
		upd.Email = &e
	}
	if changed(form, "is_verified", kindCheckbox) {
		v := form.Get("is_verified") == "true"
		upd.Verified = &v
	}
	fields := u.Fields
	names, errs := c.form.parse(form, reflect.ValueOf(&fields).Elem(), false, c.msg)
	if len(errs) > 0 {
		c.renderUser(g, req, http.StatusUnprocessableEntity, u, form, errs, c.msg(pageError(errs)))
		return
	}
	if len(names) > 0 {
		upd.Fields, upd.FieldNames = &fields, names
	}
	if upd.Email == nil && upd.Verified == nil && upd.Fields == nil {
		g.Redirect(http.StatusSeeOther, c.row(u, req).URL+"?notice=unchanged")
		return
	}
	before := *u
	changes := slices.Clone(names)
	if upd.Email != nil {
		changes = append(changes, "email")
	}
	if upd.Verified != nil {
		changes = append(changes, "is_verified")
	}
	if _, err := c.m.Update(ctx, u, upd); err != nil {
		var ee *ginusers.EmailError
		switch {
		case errors.As(err, &ee):
			errs["email"] = c.msg("validation.email", ee.Reason)
		case errors.Is(err, ginusers.ErrUserExists):
			errs["email"] = c.msg("validation.email_taken")
		default:
			c.auditLog(g, req.admin, "update", &before, "failed", "fields", changes, "error", err.Error())
			c.fail(g, req, err)
			return
		}
		c.auditLog(g, req.admin, "update", &before, "refused", "fields", changes, "reason", "invalid e-mail address")
		c.renderUser(g, req, http.StatusUnprocessableEntity, &before, form, errs, c.msg("error.invalid"))
		return
	}
	c.auditLog(g, req.admin, "update", &before, "ok", "fields", changes)
	notice := "saved"
	if before.Verified && !u.Verified && upd.Email != nil && upd.Verified == nil {
		notice = "saved_unverified"
	}
	g.Redirect(http.StatusSeeOther, c.row(u, req).URL+"?notice="+notice)
}

// pageError is the key of the message above a form with errs.
func pageError(errs map[string]string) string {
	if _, ok := errs[""]; ok {
		return "validation.invalid"
	}
	return "error.invalid"
}

// newData is the data of the new-user page (new.html).
type newData struct {
	// Email and Password are the first two controls; Link is whether the
	// user chooses their own password from an e-mailed link (the radio
	// buttons "password_mode" = "link" or "set").
	Email, Password fieldView
	Link            bool
	// Flags are the check boxes is_active, is_verified, is_superuser;
	// Fields the application's fields.
	Flags, Fields []fieldView
	// ModeError is the error about the choice of password.
	ModeError string
}

// newPage shows the form to create a user.
func (c *console[F]) newPage(g *gin.Context, req *request[F]) {
	c.renderNew(g, req, http.StatusOK, nil, nil)
}

func (c *console[F]) renderNew(g *gin.Context, req *request[F], status int, submitted url.Values, errs map[string]string) {
	d := newData{
		Email:    fieldView{Input: "email", ID: fieldID("email"), Label: c.msg("field.email"), Kind: kindEmail, Error: errs["email"], Autocomplete: "off"},
		Password: fieldView{Input: "password", ID: fieldID("password"), Label: c.msg("field.password"), Kind: kindPassword, Error: errs["password"], Autocomplete: "new-password", Hint: c.msg("hint.password")},
		Link:     true, ModeError: errs["password_mode"],
	}
	flags := []struct {
		name string
		def  bool
	}{{"is_active", true}, {"is_verified", false}, {"is_superuser", false}}
	for _, f := range flags {
		v := fieldView{Input: f.name, ID: fieldID(f.name), Label: c.msg("field." + f.name), Kind: kindCheckbox, Checked: f.def, Error: errs[f.name]}
		if submitted != nil {
			v.Checked = submitted.Get(f.name) == "true"
		}
		d.Flags = append(d.Flags, v)
	}
	var zero F
	d.Fields = c.form.views(reflect.ValueOf(&zero).Elem(), errs, submitted)
	if submitted != nil {
		d.Email.Value = submitted.Get("email")
		d.Link = submitted.Get("password_mode") != "set"
		// A password is never sent back to the browser.
	}
	pageErr := ""
	if len(errs) > 0 {
		pageErr = c.msg(pageError(errs))
	}
	c.render(g, req, status, "new", &page{Data: d, Error: pageErr})
}

// create creates a user with [ginusers.Manager.Create] (the password is
// validated and hashed, the after-register hooks fire). With the
// "link" mode, the user gets a password nobody knows (two [rand.Text],
// 260 random bits, never shown or kept) and then, through [ginusers.Manager.ForgotPassword],
// an e-mail with a link to choose their own: the administrator never
// knows it.
func (c *console[F]) create(g *gin.Context, req *request[F]) {
	ctx := g.Request.Context()
	form := g.Request.PostForm
	errs := map[string]string{}
	in := ginusers.UserCreate[F]{Email: form.Get("email")}
	active, verified, super := form.Get("is_active") == "true", form.Get("is_verified") == "true", form.Get("is_superuser") == "true"
	in.Active, in.Verified, in.Superuser = &active, &verified, &super
	link := form.Get("password_mode") != "set"
	switch {
	case link && !active:
		errs["password_mode"] = c.msg("validation.link_inactive")
	case link:
		in.Password = rand.Text() + rand.Text()
	case form.Get("password") == "":
		errs["password"] = c.msg("validation.required")
	default:
		in.Password = form.Get("password")
	}
	if in.Email == "" {
		errs["email"] = c.msg("validation.required")
	}
	_, ferrs := c.form.parse(form, reflect.ValueOf(&in.Fields).Elem(), true, c.msg)
	for k, v := range ferrs {
		errs[k] = v
	}
	if len(errs) > 0 {
		c.renderNew(g, req, http.StatusUnprocessableEntity, form, errs)
		return
	}
	mode := "password"
	if link {
		mode = "link"
	}
	u, err := c.m.Create(ctx, in)
	if err != nil && u == nil {
		var ee *ginusers.EmailError
		var pe *ginusers.PasswordError
		switch {
		case errors.As(err, &ee):
			errs["email"] = c.msg("validation.email", ee.Reason)
		case errors.Is(err, ginusers.ErrUserExists):
			errs["email"] = c.msg("validation.email_taken")
		case errors.As(err, &pe) && link:
			errs["password_mode"] = c.msg("validation.link_password", pe.Reason)
		case errors.As(err, &pe):
			errs["password"] = pe.Reason
		default:
			c.auditLog(g, req.admin, "create", nil, "failed", "email", in.Email, "error", err.Error())
			c.fail(g, req, err)
			return
		}
		c.auditLog(g, req.admin, "create", nil, "refused", "email", in.Email, "reason", "invalid input")
		c.renderNew(g, req, http.StatusUnprocessableEntity, form, errs)
		return
	}
	if err != nil {
		// The user exists; an after-register hook failed.
		c.auditLog(g, req.admin, "create", u, "failed", "password", mode, "error", err.Error())
		c.fail(g, req, err)
		return
	}
	c.auditLog(g, req.admin, "create", u, "ok", "password", mode, "is_active", active, "is_verified", verified, "is_superuser", super)
	notice := "created"
	if link {
		if err := c.m.ForgotPassword(ctx, u); err != nil {
			c.auditLog(g, req.admin, "reset-password", u, "failed", "error", err.Error())
			notice = "created_link_failed"
		} else {
			c.auditLog(g, req.admin, "reset-password", u, "ok")
			notice = "created_link"
		}
	}
	g.Redirect(http.StatusSeeOther, c.row(u, req).URL+"?notice="+notice)
}
