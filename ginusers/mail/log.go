package mail

import (
	"context"
	"fmt"
	"log/slog"
)

// NewLogSender returns a [Sender] that logs each message at level INFO, with
// the attributes to, subject and body, instead of sending it: for
// development, when no SMTP server is configured. A nil logger means
// slog.Default().
//
// It checks messages as [CheckMessage] does and returns the same errors,
// so that a message it accepts is one an [SMTP] sender would accept too.
// The body holds verification and reset tokens, which are credentials:
// never use it in production, where logs are kept and read. The sender is
// safe for concurrent use if the logger's handler is (slog's are).
func NewLogSender(l *slog.Logger) Sender {
	if l == nil {
		l = slog.Default()
	}
	return logSender{l: l}
}

type logSender struct{ l *slog.Logger }

func (s logSender) Send(ctx context.Context, msg Message) error {
	if _, err := CheckMessage(msg); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: log sender: %w", err)
	}
	s.l.LogAttrs(ctx, slog.LevelInfo, "mail: message logged, not sent",
		slog.String("to", msg.To),
		slog.String("subject", msg.Subject),
		slog.String("body", msg.Body),
	)
	return nil
}
