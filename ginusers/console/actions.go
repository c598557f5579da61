package console

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// Actions on one user (POST /users/:id/<action>) and on a selection
// (POST /users/bulk with action=<action>). Every write goes through the
// Manager, so hooks fire and sessions are revoked as the API does them.
var (
	userActionNames = []string{"activate", "deactivate", "promote", "demote", "verify", "reset-password", "logout-all", "delete"}
	bulkActions     = []string{"activate", "deactivate", "verify", "reset-password", "logout-all", "delete"}
)

// act does action to target for the administrator of req, and returns the
// notice to show. The guard rails:
//
//   - an administrator cannot deactivate, demote or delete themself
//     (errSelf);
//   - the last active superuser cannot be deactivated, demoted or
//     deleted (errLastAdmin). Races between administrators, on one
//     instance or several, are settled by the database: the change is
//     written first, then the active superusers are counted, and if none
//     is left the change is undone and refused. Of two administrators
//     demoting each other at the same moment, at least one stays.
//
// An action that would change nothing (activating an active user) writes
// nothing and says so.
func (c *console[F]) act(ctx context.Context, req *request[F], action string, target *ginusers.User[F]) (string, error) {
	self := target.ID == req.admin.ID
	no, yes := false, true
	switch action {
	case "activate":
		if target.Active {
			return "unchanged", nil
		}
		_, err := c.m.Update(ctx, target, ginusers.UserUpdate[F]{Active: &yes})
		return "activated", err
	case "deactivate":
		if self {
			return "", errSelf
		}
		if !target.Active {
			return "unchanged", nil
		}
		return "deactivated", c.guarded(ctx, target, ginusers.UserUpdate[F]{Active: &no})
	case "promote":
		if target.Superuser {
			return "unchanged", nil
		}
		_, err := c.m.Update(ctx, target, ginusers.UserUpdate[F]{Superuser: &yes})
		return "promoted", err
	case "demote":
		if self {
			return "", errSelf
		}
		if !target.Superuser {
			return "unchanged", nil
		}
		if err := c.guarded(ctx, target, ginusers.UserUpdate[F]{Superuser: &no}); err != nil {
			return "", err
		}
		// A demotion keeps the user's session epoch: their console
		// sessions are deleted now, or one left unused while they are
		// demoted would work again after a promotion.
		if _, err := c.cfg.sessions.DeleteUserTokens(ctx, target.ID); err != nil {
			c.cfg.logger.ErrorContext(ctx, "console: cannot delete the sessions of a demoted administrator", "user_id", target.ID, "error", err)
		}
		return "demoted", nil
	case "verify":
		if target.Verified {
			return "unchanged", nil
		}
		_, err := c.m.Update(ctx, target, ginusers.UserUpdate[F]{Verified: &yes})
		return "verified", err
	case "reset-password":
		err := c.m.ForgotPassword(ctx, target)
		if errors.Is(err, ginusers.ErrUserInactive) {
			return "", errInactive
		}
		return "reset_sent", err
	case "logout-all":
		return "logged_out", c.m.LogoutAll(ctx, target)
	case "delete":
		if self {
			return "", errSelf
		}
		demoted := false
		if target.Superuser {
			// Demoted first, under the guard rail, so that deleting an
			// administrator never leaves none.
			if err := c.guarded(ctx, target, ginusers.UserUpdate[F]{Superuser: &no}); err != nil {
				return "", err
			}
			demoted = true
		}
		// Only a user who is not a superuser is deleted, checked by the
		// store in the deletion itself: one promoted again since the
		// demotion above (or since the read) stays, and so does the guard
		// rail.
		err := c.m.DeleteIf(ctx, target, ginusers.UserCondition{Superuser: &no})
		if errors.Is(err, ginusers.ErrConflict) {
			return "", errChanged
		}
		if err != nil {
			if demoted && !errors.Is(err, ginusers.ErrUserNotFound) {
				// A before-delete hook refused, or the store failed: the
				// user stays, and so does their role.
				if _, uerr := c.m.Update(ctx, target, ginusers.UserUpdate[F]{Superuser: &yes}); uerr != nil {
					c.cfg.logger.ErrorContext(ctx, "console: cannot restore the superuser flag after a failed deletion", "user_id", target.ID, "error", uerr)
				}
			}
			return "", err
		}
		return "deleted", nil
	}
	return "", ginusers.ErrUserNotFound
}

// guarded applies upd, which deactivates or demotes target, then counts the
// active superusers; if none is left (target was the last, or others were
// removed at the same moment), it restores what upd changed and returns
// errLastAdmin. The count reads the database after the write, so two
// administrators removing each other concurrently cannot both succeed: the
// one whose count sees nobody undoes its change.
func (c *console[F]) guarded(ctx context.Context, target *ginusers.User[F], upd ginusers.UserUpdate[F]) error {
	if _, err := c.m.Update(ctx, target, upd); err != nil {
		return err
	}
	// target is now the user as written: the write removed an active
	// superuser if it deactivated a superuser or demoted an active user
	// (decided on the written record, not on the earlier read, so that a
	// promotion or activation in between is not missed).
	deactivated := upd.Active != nil && !*upd.Active && target.Superuser
	demoted := upd.Superuser != nil && !*upd.Superuser && target.Active
	if !deactivated && !demoted {
		return nil
	}
	yes := true
	n, err := c.m.CountUsers(ctx, ginusers.UserQuery{Active: &yes, Superuser: &yes})
	if err == nil && n > 0 {
		return nil
	}
	// None left, or no way to know: undo.
	var undo ginusers.UserUpdate[F]
	if upd.Active != nil && !*upd.Active {
		undo.Active = &yes
	}
	if upd.Superuser != nil && !*upd.Superuser {
		undo.Superuser = &yes
	}
	if _, uerr := c.m.Update(ctx, target, undo); uerr != nil {
		c.cfg.logger.ErrorContext(ctx, "console: cannot undo the removal of a superuser", "user_id", target.ID, "error", uerr)
		return errors.Join(err, uerr)
	}
	if err != nil {
		return err
	}
	return errLastAdmin
}

// userAction does one action to the user of the page, then goes back to
// it (to the list after a deletion) with a notice. A refusal shows the
// user page with 409 and the reason.
func (c *console[F]) userAction(g *gin.Context, req *request[F]) {
	action := g.Param("action")
	if !slices.Contains(userActionNames, action) {
		c.errorPage(g, req, http.StatusNotFound, "error.not_found")
		return
	}
	ctx := g.Request.Context()
	target, err := c.m.Get(ctx, g.Param("id"))
	if err != nil {
		c.fail(g, req, err)
		return
	}
	before := *target
	notice, err := c.act(ctx, req, action, target)
	var ref *refusal
	switch {
	case errors.As(err, &ref):
		c.auditLog(g, req.admin, action, &before, "refused", "reason", ref.key)
		if action == "delete" || errors.Is(err, errLastAdmin) {
			// The page as it is now (an undone change is undone).
			if cur, gerr := c.m.Get(ctx, before.ID); gerr == nil {
				target = cur
			}
		}
		c.renderUser(g, req, http.StatusConflict, target, nil, nil, c.msg(ref.key))
		return
	case err != nil:
		c.auditLog(g, req.admin, action, &before, "failed", "error", err.Error())
		c.fail(g, req, err)
		return
	}
	outcome := "ok"
	if notice == "unchanged" {
		outcome = "unchanged"
	}
	c.auditLog(g, req.admin, action, &before, outcome)
	if action == "delete" {
		g.Redirect(http.StatusSeeOther, c.base+"/users?notice=deleted")
		return
	}
	g.Redirect(http.StatusSeeOther, c.row(target, req).URL+"?notice="+notice)
}

// confirmData is the data of the delete confirmation page (confirm.html).
type confirmData struct {
	// Users are the users to delete.
	Users []userRow
	// Action is where the form is posted; IDs the users' ids, sent back as
	// hidden "id" fields with "confirm=yes" for a selection. Cancel is the
	// page to go back to.
	Action string
	IDs    []string
	Bulk   bool
	Cancel string
}

// deletePage asks to confirm the deletion of a user.
func (c *console[F]) deletePage(g *gin.Context, req *request[F]) {
	u, err := c.m.Get(g.Request.Context(), g.Param("id"))
	if err != nil {
		c.fail(g, req, err)
		return
	}
	row := c.row(u, req)
	if row.Self {
		c.renderUser(g, req, http.StatusConflict, u, nil, nil, c.msg(errSelf.key))
		return
	}
	c.render(g, req, http.StatusOK, "confirm", &page{Data: confirmData{Users: []userRow{row}, Action: row.URL + "/delete", Cancel: row.URL}})
}

// resultRow is the outcome of a bulk action for one user.
type resultRow struct {
	Email, URL, Message string
	OK                  bool
}

// resultsData is the data of the bulk results page (results.html).
type resultsData struct {
	Action  string
	Results []resultRow
	Done    int
}

// bulk does an action to each selected user (the "id" fields), at most a
// page of them ([ginusers.MaxListLimit]), with the guard rails of each,
// and shows what happened to each. Deleting asks for a confirmation first.
func (c *console[F]) bulk(g *gin.Context, req *request[F]) {
	form := g.Request.PostForm
	action := form.Get("action")
	if !slices.Contains(bulkActions, action) {
		c.errorPage(g, req, http.StatusUnprocessableEntity, "error.bad_action")
		return
	}
	var ids []string
	seen := map[string]bool{}
	for _, id := range form["id"] {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		g.Redirect(http.StatusSeeOther, c.base+"/users?notice=none_selected")
		return
	}
	if len(ids) > ginusers.MaxListLimit {
		c.errorPage(g, req, http.StatusUnprocessableEntity, "error.too_many")
		return
	}
	ctx := g.Request.Context()
	if action == "delete" && form.Get("confirm") != "yes" {
		d := confirmData{Action: c.base + "/users/bulk", Bulk: true, Cancel: c.base + "/users"}
		for _, id := range ids {
			u, err := c.m.Get(ctx, id)
			if errors.Is(err, ginusers.ErrUserNotFound) {
				continue
			}
			if err != nil {
				c.fail(g, req, err)
				return
			}
			d.Users = append(d.Users, c.row(u, req))
			d.IDs = append(d.IDs, u.ID)
		}
		c.render(g, req, http.StatusOK, "confirm", &page{Data: d})
		return
	}
	d := resultsData{Action: c.msg("action." + action)}
	for _, id := range ids {
		target, err := c.m.Get(ctx, id)
		if errors.Is(err, ginusers.ErrUserNotFound) {
			d.Results = append(d.Results, resultRow{Email: id, Message: c.msg("error.not_found")})
			continue
		}
		if err != nil {
			c.fail(g, req, err)
			return
		}
		before := *target
		row := resultRow{Email: before.Email, URL: c.row(&before, req).URL}
		notice, err := c.act(ctx, req, action, target)
		var ref *refusal
		switch {
		case errors.As(err, &ref):
			c.auditLog(g, req.admin, action, &before, "refused", "reason", ref.key, "bulk", true)
			row.Message = c.msg(ref.key)
		case err != nil:
			c.auditLog(g, req.admin, action, &before, "failed", "error", err.Error(), "bulk", true)
			if errors.Is(err, ginusers.ErrUnavailable) {
				c.fail(g, req, err)
				return
			}
			row.Message = c.msg("error.internal")
		default:
			outcome := "ok"
			if notice == "unchanged" {
				outcome = "unchanged"
			}
			c.auditLog(g, req.admin, action, &before, outcome, "bulk", true)
			row.OK, row.Message = true, c.msg("notice."+notice)
			if notice != "unchanged" {
				d.Done++
			}
		}
		if action == "delete" && row.OK {
			row.URL = ""
		}
		d.Results = append(d.Results, row)
	}
	c.render(g, req, http.StatusOK, "results", &page{Data: d})
}
