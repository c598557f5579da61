package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/ginusers/kit/ginusers/mail"
)

func TestLogSender(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		msg     mail.Message
		wantErr error // nil and wantLog: success
		wantLog bool
	}{
		{name: "a message is logged at INFO", ctx: context.Background(), msg: mail.Message{To: "ada@example.com", Subject: "Hi", Body: "token=abc\n"}, wantLog: true},
		{name: "header injection is refused as SMTP refuses it", ctx: context.Background(), msg: mail.Message{To: "a@b.co\r\nBcc: x@y.z", Subject: "Hi"}, wantErr: mail.ErrHeaderInjection},
		{name: "an invalid address is refused", ctx: context.Background(), msg: mail.Message{To: "nobody", Subject: "Hi"}, wantErr: mail.ErrInvalidAddress},
		{name: "a cancelled context is an error", ctx: cancelled, msg: mail.Message{To: "ada@example.com", Subject: "Hi"}, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			s := mail.NewLogSender(slog.New(slog.NewJSONHandler(&buf, nil)))
			err := s.Send(tt.ctx, tt.msg)
			if !tt.wantLog {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Send() error = %v, want %v", err, tt.wantErr)
				}
				if buf.Len() != 0 {
					t.Errorf("logged %s, want nothing", buf.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("Send() error = %v", err)
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("log record %q: %v", buf.String(), err)
			}
			for k, want := range map[string]string{"level": "INFO", "to": tt.msg.To, "subject": tt.msg.Subject, "body": tt.msg.Body} {
				if rec[k] != want {
					t.Errorf("log record %s = %v, want %q", k, rec[k], want)
				}
			}
		})
	}
	if mail.NewLogSender(nil) == nil {
		t.Error("NewLogSender(nil) = nil, want a sender on slog.Default()")
	}
}
