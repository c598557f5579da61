package console_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ginusers/kit/e2e/internal/e2etest"
	"github.com/ginusers/kit/ginusers"
)

func TestEveryActionGoesThroughTheManager(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	u := e.user("arthur@camelot.bt", "excalibur", false)
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	token := e.apiToken("arthur@camelot.bt", "excalibur")
	if e.apiMe(token) != 200 {
		t.Fatal("the API token does not work to begin with")
	}
	act := func(action, wantNotice string) {
		t.Helper()
		b.get("/users/" + u.ID)
		p := b.post("/users/"+u.ID+"/"+action, nil)
		if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?notice="+wantNotice) {
			t.Fatalf("POST %s = %d to %q, want 303 with notice %s\n%s", action, p.status, p.location(), wantNotice, p.body)
		}
		if len(e.auditLines("action="+action, "actor_email="+adminEmail, "target_id="+u.ID, "target_email=arthur@camelot.bt")) == 0 {
			t.Errorf("%s was not audited:\n%s", action, e.audit.String())
		}
	}

	act("deactivate", "deactivated")
	if got := e.get(u.ID); got.Active {
		t.Fatal("deactivate did not deactivate")
	}
	if got := e.apiMe(token); got != http.StatusUnauthorized {
		t.Errorf("the user's API token after deactivation = %d, want 401", got)
	}
	if !e.hooks.has("update arthur@camelot.bt is_active") {
		t.Errorf("no update hook for the deactivation:\n%s", e.hooks.all())
	}
	// The page now offers activation, not deactivation, nor a reset link.
	p := b.get("/users/" + u.ID)
	if !strings.Contains(p.body, "/activate\"") || strings.Contains(p.body, "/deactivate\"") || strings.Contains(p.body, "/reset-password\"") {
		t.Errorf("the actions of an inactive user:\n%s", p.body)
	}
	p = b.post("/users/"+u.ID+"/reset-password", nil)
	wantStatus(t, "POST reset-password for an inactive user", p, http.StatusConflict)
	if !strings.Contains(p.body, "The user is inactive") {
		t.Errorf("the refusal does not say why:\n%s", p.body)
	}
	act("activate", "activated")
	token = e.apiToken("arthur@camelot.bt", "excalibur")
	act("activate", "unchanged")

	act("promote", "promoted")
	if !e.get(u.ID).Superuser || !e.hooks.has("update arthur@camelot.bt is_superuser") {
		t.Error("promote did not go through the Manager")
	}
	act("demote", "demoted")
	if e.get(u.ID).Superuser {
		t.Error("demote did not demote")
	}

	no := false
	if _, err := e.m.Update(t.Context(), u, ginusers.UserUpdate[Profile]{Verified: &no}); err != nil {
		t.Fatal(err)
	}
	act("verify", "verified")
	if !e.get(u.ID).Verified || !e.hooks.has("update arthur@camelot.bt is_verified") {
		t.Error("verify did not go through the Manager")
	}

	act("reset-password", "reset_sent")
	reset := e.hooks.reset("arthur@camelot.bt")
	if reset == "" {
		t.Fatal("no reset token reached the forgot-password hook")
	}
	if _, err := e.m.ResetPassword(t.Context(), reset, "excalibur-2"); err != nil {
		t.Fatalf("the mailed reset token does not work: %v", err)
	}
	token = e.apiToken("arthur@camelot.bt", "excalibur-2")

	act("logout-all", "logged_out")
	if got := e.apiMe(token); got != http.StatusUnauthorized {
		t.Errorf("the user's API token after log out everywhere = %d, want 401", got)
	}

	// Delete: a confirmation page first, then the deletion.
	token = e.apiToken("arthur@camelot.bt", "excalibur-2")
	p = b.get("/users/" + u.ID + "/delete")
	wantStatus(t, "GET the delete confirmation", p, 200)
	if !strings.Contains(p.body, "arthur@camelot.bt") || !strings.Contains(p.body, "cannot be undone") {
		t.Errorf("the confirmation page:\n%s", p.body)
	}
	p = b.post("/users/"+u.ID+"/delete", nil)
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "/admin/users?notice=deleted") {
		t.Fatalf("POST delete = %d to %q", p.status, p.location())
	}
	if _, err := e.m.Get(t.Context(), u.ID); !errors.Is(err, ginusers.ErrUserNotFound) {
		t.Errorf("the user is still there: %v", err)
	}
	if !e.hooks.has("before-delete arthur@camelot.bt") || !e.hooks.has("after-delete arthur@camelot.bt") {
		t.Errorf("the delete hooks did not fire:\n%s", e.hooks.all())
	}
	if got := e.apiMe(token); got != http.StatusUnauthorized {
		t.Errorf("the deleted user's API token = %d, want 401", got)
	}
	if len(e.auditLines("action=delete", "outcome=ok", "target_email=arthur@camelot.bt")) != 1 {
		t.Errorf("the deletion was not audited:\n%s", e.audit.String())
	}
}

func TestABeforeDeleteHookCanRefuseAndTheRoleStays(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	u := e.user("lancelot@camelot.bt", "guinevere", true)
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	e.hooks.beforeDelete = errors.New("lancelot is needed")
	b.get("/users/" + u.ID + "/delete")
	p := b.post("/users/"+u.ID+"/delete", nil)
	wantStatus(t, "POST delete refused by a hook", p, http.StatusInternalServerError)
	if got := e.get(u.ID); !got.Superuser || !got.Active {
		t.Errorf("after a refused deletion: superuser=%v active=%v, want the role restored", got.Superuser, got.Active)
	}
}

func TestGuardRailsOnOneself(t *testing.T) {
	e := newEnv(t)
	admin := e.user(adminEmail, adminPassword, true)
	e.user("lancelot@camelot.bt", "guinevere", true)
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	p := b.get("/users/" + admin.ID)
	for _, action := range []string{"deactivate", "demote"} {
		if strings.Contains(p.body, "/"+action+"\"") {
			t.Errorf("one's own page offers %s", action)
		}
	}
	if strings.Contains(p.body, "/delete\"") {
		t.Error("one's own page offers delete")
	}
	for _, action := range []string{"deactivate", "demote", "delete"} {
		p := b.post("/users/"+admin.ID+"/"+action, nil)
		wantStatus(t, "POST "+action+" on oneself", p, http.StatusConflict)
		if !strings.Contains(p.body, "You cannot deactivate, demote or delete your own account.") {
			t.Errorf("%s: the refusal does not say why:\n%s", action, p.body)
		}
		if len(e.auditLines("action="+action, "outcome=refused", "target_email="+adminEmail, "reason=refused.self")) != 1 {
			t.Errorf("%s on oneself was not audited:\n%s", action, e.audit.String())
		}
	}
	wantStatus(t, "GET one's own delete page", b.get("/users/"+admin.ID+"/delete"), http.StatusConflict)
	if got := e.get(admin.ID); !got.Active || !got.Superuser {
		t.Fatalf("the admin changed themself: %+v", got)
	}
	wantStatus(t, "GET /users still signed in", b.get("/users"), 200)
}

// TestTheLastActiveSuperuserIsKept removes another superuser while, at the
// same moment (inside the write, through a hook), the acting
// administrator loses their own rights: after the write no active
// superuser is left, so the console undoes its change and refuses.
func TestTheLastActiveSuperuserIsKept(t *testing.T) {
	for _, action := range []string{"deactivate", "demote", "delete"} {
		t.Run(action, func(t *testing.T) {
			e := newEnv(t)
			admin := e.user(adminEmail, adminPassword, true)
			other := e.user("lancelot@camelot.bt", "guinevere", true)
			b := e.browser()
			b.signIn(adminEmail, adminPassword)
			b.get("/users/" + other.ID)
			var once sync.Once
			e.hooks.afterUpdate = func(ctx context.Context, u *User, ch ginusers.Changes) {
				if u.ID != other.ID {
					return
				}
				once.Do(func() {
					// Another administrator demotes the acting one meanwhile.
					a, err := e.m.Get(ctx, admin.ID)
					if err != nil {
						t.Error(err)
						return
					}
					no := false
					if _, err := e.m.Update(ctx, a, ginusers.UserUpdate[Profile]{Superuser: &no}); err != nil {
						t.Error(err)
					}
				})
			}
			p := b.post("/users/"+other.ID+"/"+action, nil)
			wantStatus(t, "POST "+action+" of the last active superuser", p, http.StatusConflict)
			if !strings.Contains(p.body, "last active administrator") {
				t.Errorf("the refusal does not say why:\n%s", p.body)
			}
			got := e.get(other.ID)
			if !got.Active || !got.Superuser {
				t.Fatalf("the last active superuser was removed: active=%v superuser=%v", got.Active, got.Superuser)
			}
			if len(e.auditLines("action="+action, "outcome=refused", "target_email=lancelot@camelot.bt", "reason=refused.last_admin")) != 1 {
				t.Errorf("the refusal was not audited:\n%s", e.audit.String())
			}
			if e.hooks.has("before-delete lancelot@camelot.bt") {
				t.Error("the deletion went ahead")
			}
		})
	}
}

// TestConcurrentDemotionsAlwaysLeaveASuperuser has two superusers demote
// each other at the same moment, over HTTP, many times: whatever the
// interleaving, at least one active superuser is left after each round.
func TestConcurrentDemotionsAlwaysLeaveASuperuser(t *testing.T) {
	e := newEnv(t)
	a := e.user(adminEmail, adminPassword, true)
	l := e.user("lancelot@camelot.bt", "guinevere", true)
	ba, bl := e.browser(), e.browser()
	ba.signIn(adminEmail, adminPassword)
	bl.signIn("lancelot@camelot.bt", "guinevere")
	yes := true
	outcomes := map[string]int{}
	const rounds = 30
	for round := range rounds {
		for _, u := range []*User{a, l} {
			cur := e.get(u.ID)
			if _, err := e.m.Update(t.Context(), cur, ginusers.UserUpdate[Profile]{Superuser: &yes, Active: &yes}); err != nil {
				t.Fatal(err)
			}
		}
		for _, x := range []struct {
			b              *browser
			email, pw, url string
		}{{ba, adminEmail, adminPassword, "/users/" + l.ID}, {bl, "lancelot@camelot.bt", "guinevere", "/users/" + a.ID}} {
			if p := x.b.get(x.url); p.status != 200 {
				x.b.signIn(x.email, x.pw) // demoted in an earlier round: the session ended
				x.b.get(x.url)
			}
		}
		var wg sync.WaitGroup
		results := make([]int, 2)
		for i, x := range []struct {
			b      *browser
			target string
		}{{ba, l.ID}, {bl, a.ID}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = x.b.postQuiet("/users/" + x.target + "/demote")
			}()
		}
		e2etest.WaitGroup(t, &wg, raceTimeout, fmt.Sprintf("round %d", round))
		outcomes[fmt.Sprint(results)]++
		n, err := e.m.CountUsers(t.Context(), ginusers.UserQuery{Active: &yes, Superuser: &yes})
		if err != nil {
			t.Fatal(err)
		}
		if n < 1 {
			t.Fatalf("round %d: %d active superusers after concurrent demotions (statuses %v)", round, n, results)
		}
	}
	t.Logf("statuses of the two demotions over %d rounds: %v", rounds, outcomes)
}

// postQuiet posts a form with the browser's token and returns the status;
// it may run concurrently with another browser's requests.
func (b *browser) postQuiet(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), raceTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.e.base+path, strings.NewReader(url.Values{"csrf": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestBulkActions(t *testing.T) {
	e := newEnv(t)
	admin := e.user(adminEmail, adminPassword, true)
	var ids []string
	var tokens []string
	for i := range 3 {
		email := fmt.Sprintf("knight%d@camelot.bt", i)
		ids = append(ids, e.user(email, "round-table", false).ID)
		tokens = append(tokens, e.apiToken(email, "round-table"))
	}
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	b.get("/users")

	p := b.post("/users/bulk", url.Values{"action": {"deactivate"}, "id": append([]string{admin.ID}, ids...)})
	wantStatus(t, "POST bulk deactivate", p, 200)
	if !strings.Contains(p.body, "Deactivate: 3 of 4 users changed.") || !strings.Contains(p.body, "You cannot deactivate, demote or delete your own account.") {
		t.Errorf("the results page:\n%s", p.body)
	}
	for i, id := range ids {
		if e.get(id).Active {
			t.Errorf("knight%d is still active", i)
		}
		if got := e.apiMe(tokens[i]); got != http.StatusUnauthorized {
			t.Errorf("knight%d's API token = %d, want 401", i, got)
		}
	}
	if !e.get(admin.ID).Active {
		t.Fatal("the bulk action deactivated the admin")
	}
	if n := len(e.auditLines("action=deactivate", "bulk=true")); n != 4 {
		t.Errorf("%d audit lines for the bulk deactivation, want 4 (one per user):\n%s", n, e.audit.String())
	}

	p = b.post("/users/bulk", url.Values{"action": {"delete"}, "id": ids[:2]})
	wantStatus(t, "POST bulk delete", p, 200)
	if !strings.Contains(p.body, "cannot be undone") || !strings.Contains(p.body, "knight0@camelot.bt") || !strings.Contains(p.body, `name="confirm" value="yes"`) {
		t.Fatalf("bulk delete did not ask for a confirmation:\n%s", p.body)
	}
	if _, err := e.m.Get(t.Context(), ids[0]); err != nil {
		t.Fatal("the confirmation page deleted")
	}
	p = b.post("/users/bulk", url.Values{"action": {"delete"}, "confirm": {"yes"}, "id": ids[:2]})
	wantStatus(t, "POST bulk delete, confirmed", p, 200)
	for _, id := range ids[:2] {
		if _, err := e.m.Get(t.Context(), id); !errors.Is(err, ginusers.ErrUserNotFound) {
			t.Errorf("user %s was not deleted: %v", id, err)
		}
	}
	if _, err := e.m.Get(t.Context(), ids[2]); err != nil {
		t.Error("an unselected user was deleted")
	}

	wantStatus(t, "POST bulk with no action", b.post("/users/bulk", url.Values{"id": ids}), http.StatusUnprocessableEntity)
	wantStatus(t, "POST bulk with an unknown action", b.post("/users/bulk", url.Values{"action": {"promote"}, "id": ids}), http.StatusUnprocessableEntity)
	p = b.post("/users/bulk", url.Values{"action": {"verify"}})
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "notice=none_selected") {
		t.Errorf("POST bulk with no user = %d to %q", p.status, p.location())
	}
	many := make([]string, 501)
	for i := range many {
		many[i] = fmt.Sprintf("%024x", i)
	}
	wantStatus(t, "POST bulk with 501 users", b.post("/users/bulk", url.Values{"action": {"verify"}, "id": many}), http.StatusUnprocessableEntity)
}

func TestTheAuditLogHoldsNoSecret(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	u := e.user("arthur@camelot.bt", "excalibur", false)
	wrong := e.browser()
	wantStatus(t, "sign in with a wrong password", wrong.trySignIn(adminEmail, "a-wrong-password"), http.StatusForbidden)
	b := e.browser()
	b.signIn(adminEmail, adminPassword)
	b.get("/users/" + u.ID)
	for _, a := range []string{"reset-password", "logout-all", "deactivate", "activate"} {
		b.post("/users/"+u.ID+"/"+a, nil)
	}
	b.post("/users/new", url.Values{"email": {"gawain@camelot.bt"}, "password_mode": {"set"}, "password": {"green-knight"}, "is_active": {"true"}})
	b.post("/users/new", url.Values{"email": {"bors@camelot.bt"}, "password_mode": {"link"}, "is_active": {"true"}})
	cookie := b.cookie(sessionCookie).Value
	b.post("/signout", nil)

	stored := e.get(u.ID)
	log := e.audit.String()
	secrets := []string{adminPassword, "a-wrong-password", "excalibur", "green-knight", stored.HashedPassword, cookie, b.csrf, e.hooks.reset("arthur@camelot.bt"), e.hooks.reset("bors@camelot.bt")}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("a secret to look for is empty")
		}
		if strings.Contains(log, s) {
			t.Errorf("the audit log holds a secret %q", s)
		}
	}
	for _, want := range [][]string{
		{"action=sign_in", "outcome=refused", "email=" + adminEmail},
		{"action=sign_in", "outcome=ok", "actor_email=" + adminEmail},
		{"action=reset-password", "outcome=ok", "target_email=arthur@camelot.bt"},
		{"action=logout-all", "outcome=ok", "target_email=arthur@camelot.bt"},
		{"action=deactivate", "outcome=ok", "target_email=arthur@camelot.bt"},
		{"action=activate", "outcome=ok", "target_email=arthur@camelot.bt"},
		{"action=create", "outcome=ok", "target_email=gawain@camelot.bt", "password=password"},
		{"action=create", "outcome=ok", "target_email=bors@camelot.bt", "password=link"},
		{"action=sign_out", "outcome=ok", "actor_email=" + adminEmail},
	} {
		if len(e.auditLines(want...)) != 1 {
			t.Errorf("no single audit line with %q:\n%s", want, log)
		}
	}
}

// TestADeletionNeverRemovesAUserPromotedMeanwhile: a superuser is deleted
// by being demoted under the guard rail, then deleted. A promotion of that
// user in between (their own request in flight, say) must stop the
// deletion, or an administrator could be deleted without the guard rail
// having counted them out (with a deactivation of the deleting
// administrator in flight too, that left no active superuser).
func TestADeletionNeverRemovesAUserPromotedMeanwhile(t *testing.T) {
	e := newEnv(t)
	e.user(adminEmail, adminPassword, true)
	for _, superuser := range []bool{true, false} {
		email := fmt.Sprintf("agravain-%v@camelot.bt", superuser)
		u := e.user(email, "the orkney clan", superuser)
		yes := true
		e.hooks.beforeDeleteFn = func(ctx context.Context, v *User) {
			if v.ID != u.ID {
				return
			}
			if _, err := e.store.Update(ctx, u.ID, ginusers.UserChange[Profile]{Superuser: &yes}, ginusers.UserCondition{}); err != nil {
				t.Errorf("promoting %s in the before-delete hook: %v", email, err)
			}
		}
		b := e.browser()
		b.signIn(adminEmail, adminPassword)
		b.get("/users/" + u.ID + "/delete")
		p := b.post("/users/"+u.ID+"/delete", nil)
		wantStatus(t, "POST delete of a user promoted meanwhile", p, http.StatusConflict)
		if !strings.Contains(p.body, "made an administrator while you were deleting them") {
			t.Errorf("the refusal does not say why:\n%s", p.body)
		}
		got, err := e.m.Get(t.Context(), u.ID)
		if err != nil || !got.Superuser {
			t.Fatalf("after a deletion refused for a promotion, Get(%s) = %+v, %v; want the user, a superuser", email, got, err)
		}
		if e.hooks.has("after-delete " + email) {
			t.Errorf("the after-delete hooks ran for a user that is still there")
		}
		if len(e.auditLines("action=delete", "outcome=refused", "target_email="+email)) != 1 {
			t.Errorf("the refused deletion was not audited:\n%s", e.audit.String())
		}
	}
}
