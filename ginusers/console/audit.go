package console

import (
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/ginusers/kit/ginusers"
)

// auditLog writes one line of the audit trail: message "console audit",
// with action, outcome ("ok", "unchanged", "refused" or "failed"), the administrator
// (actor_id, actor_email; none before sign-in), the user acted on
// (target_id, target_email; none for sign-in and sign-out), the client's
// address, and extra key-value pairs (a reason). Values are identifiers,
// addresses and fixed words: never a password, a token, a hash or a form.
// "ok" and "unchanged" are logged at level INFO, anything else at WARN.
func (c *console[F]) auditLog(g *gin.Context, actor *ginusers.User[F], action string, target *ginusers.User[F], outcome string, extra ...any) {
	attrs := make([]any, 0, 12+len(extra))
	attrs = append(attrs, "action", action, "outcome", outcome)
	if actor != nil {
		attrs = append(attrs, "actor_id", actor.ID, "actor_email", actor.Email)
	}
	if target != nil {
		attrs = append(attrs, "target_id", target.ID, "target_email", target.Email)
	}
	attrs = append(attrs, "client_ip", g.ClientIP())
	attrs = append(attrs, extra...)
	level := slog.LevelInfo
	if outcome != "ok" && outcome != "unchanged" {
		level = slog.LevelWarn
	}
	c.cfg.audit.Log(g.Request.Context(), level, "console audit", attrs...)
}

// auditRefusal logs a form refused for its token.
func (c *console[F]) auditRefusal(g *gin.Context, req *request[F], reason string) {
	c.auditLog(g, req.admin, "form_post", nil, "refused", "path", g.FullPath(), "reason", reason)
}

// maxAuditEmail is the longest typed address the audit log keeps whole:
// the longest address there can be. Anyone may type into the sign-in
// form, so a longer one is cut, and the log grows by at most this much
// per refused sign-in.
const maxAuditEmail = 320

// auditEmail is the address typed into the sign-in form, for the log: cut
// to maxAuditEmail bytes (on a rune boundary), with the length it had.
func auditEmail(s string) string {
	if len(s) <= maxAuditEmail {
		return s
	}
	cut := maxAuditEmail
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:cut], len(s))
}
