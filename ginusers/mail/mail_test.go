package mail_test

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers/mail"
	"github.com/ginusers/kit/ginusers/mail/smtptest"
)

// waitCtx returns a context that bounds a wait in a test.
func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newSender returns an SMTP sender for srv.
func newSender(t *testing.T, srv *smtptest.Server, opts ...mail.SMTPOption) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(srv.Host(), srv.Port(), opts...)
	if err != nil {
		t.Fatalf("NewSMTP() error = %v", err)
	}
	return s
}

// sendOne sends msg to a fresh plain server and returns what it received.
func sendOne(t *testing.T, msg mail.Message) (smtptest.Received, *netmail.Message) {
	t.Helper()
	srv := smtptest.NewServer(t)
	if err := newSender(t, srv).Send(t.Context(), msg); err != nil {
		t.Fatalf("Send() error = %v", err)
	}
	got, err := srv.WaitMessage(waitCtx(t))
	if err != nil {
		t.Fatalf("WaitMessage() error = %v", err)
	}
	parsed, err := netmail.ReadMessage(strings.NewReader(got.Data))
	if err != nil {
		t.Fatalf("ReadMessage() error = %v\n%s", err, got.Data)
	}
	return got, parsed
}

func TestSendRefusesInvalidMessages(t *testing.T) {
	tests := []struct {
		name    string
		msg     mail.Message
		wantErr error
	}{
		{"a CRLF in To that would add a Bcc is refused", mail.Message{To: "a@b.co\r\nBcc: x@y.z", Subject: "Hi", Body: "x"}, mail.ErrHeaderInjection},
		{"a lone LF in To is refused", mail.Message{To: "a@b.co\nBcc: x@y.z", Subject: "Hi", Body: "x"}, mail.ErrHeaderInjection},
		{"a CRLF in the subject is refused", mail.Message{To: "a@b.co", Subject: "Hi\r\nBcc: x@y.z", Body: "x"}, mail.ErrHeaderInjection},
		{"a lone CR in the subject is refused", mail.Message{To: "a@b.co", Subject: "Hi\rthere", Body: "x"}, mail.ErrHeaderInjection},
		{"a To that is not an address is refused", mail.Message{To: "not an address", Subject: "Hi", Body: "x"}, mail.ErrInvalidAddress},
		{"two recipients in To are refused", mail.Message{To: "a@b.co, c@d.co", Subject: "Hi", Body: "x"}, mail.ErrInvalidAddress},
		{"an empty To is refused", mail.Message{Subject: "Hi", Body: "x"}, mail.ErrInvalidAddress},
		{"a body that is not UTF-8 is refused", mail.Message{To: "a@b.co", Subject: "Hi", Body: "\xff\xfe"}, nil},
		{"a subject that is not UTF-8 is refused", mail.Message{To: "a@b.co", Subject: "\xff", Body: "x"}, nil},
		{"a subject longer than a header line is refused", mail.Message{To: "a@b.co", Subject: strings.Repeat("a", 1000), Body: "x"}, nil},
	}
	srv := smtptest.NewServer(t)
	s := newSender(t, srv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Send(t.Context(), tt.msg)
			if err == nil {
				t.Fatal("Send() error = nil, want an error")
			}
			if !strings.HasPrefix(err.Error(), "mail: ") {
				t.Errorf("Send() error = %q, want the prefix %q", err, "mail: ")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Send() error = %v, want %v", err, tt.wantErr)
			}
			if _, cerr := mail.CheckMessage(tt.msg); cerr == nil {
				t.Errorf("CheckMessage() error = nil, want %v", err)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages, want 0", n)
	}
}

func TestSendComposesRFC5322(t *testing.T) {
	long := strings.Repeat("0123456789", 120) // 1200 octets, over the 998 limit
	tests := []struct {
		name        string
		msg         mail.Message
		wantRcpt    string
		wantTo      string
		wantSubject string // decoded
		rawSubject  func(string) bool
		wantCTE     string
		wantBody    string // decoded
	}{
		{
			name:        "an ASCII message is sent as 7bit with its subject as is",
			msg:         mail.Message{To: "ada@example.com", Subject: "Hello there", Body: "line one\nline two\n"},
			wantRcpt:    "ada@example.com",
			wantTo:      "<ada@example.com>",
			wantSubject: "Hello there",
			rawSubject:  func(s string) bool { return s == "Hello there" },
			wantCTE:     "7bit",
			wantBody:    "line one\r\nline two\r\n",
		},
		{
			name:        "a non-ASCII subject is encoded with RFC 2047 and a UTF-8 body is 8bit",
			msg:         mail.Message{To: "ada@example.com", Subject: "Vérifiez votre adresse ✓", Body: "Merci, à bientôt\n"},
			wantRcpt:    "ada@example.com",
			wantTo:      "<ada@example.com>",
			wantSubject: "Vérifiez votre adresse ✓",
			rawSubject:  func(s string) bool { return strings.HasPrefix(s, "=?utf-8?q?") && isASCII(s) },
			wantCTE:     "8bit",
			wantBody:    "Merci, à bientôt\r\n",
		},
		{
			name:        "a long non-ASCII subject is folded into several encoded words",
			msg:         mail.Message{To: "ada@example.com", Subject: strings.Repeat("é", 60), Body: "x"},
			wantRcpt:    "ada@example.com",
			wantTo:      "<ada@example.com>",
			wantSubject: strings.Repeat("é", 60),
			rawSubject:  func(s string) bool { return strings.Count(s, "=?utf-8?q?") > 1 },
			wantCTE:     "7bit",
			wantBody:    "x\r\n",
		},
		{
			name:        "LF, CR and CRLF line endings are all sent as CRLF",
			msg:         mail.Message{To: "ada@example.com", Subject: "s", Body: "a\nb\rc\r\nd"},
			wantRcpt:    "ada@example.com",
			wantTo:      "<ada@example.com>",
			wantSubject: "s",
			wantCTE:     "7bit",
			wantBody:    "a\r\nb\r\nc\r\nd\r\n",
		},
		{
			name:        "lines that begin with a dot arrive intact",
			msg:         mail.Message{To: "ada@example.com", Subject: "s", Body: ".hidden\n..two\n.\nend"},
			wantRcpt:    "ada@example.com",
			wantTo:      "<ada@example.com>",
			wantSubject: "s",
			wantCTE:     "7bit",
			wantBody:    ".hidden\r\n..two\r\n.\r\nend\r\n",
		},
		{
			name:        "a line over 998 octets is sent quoted-printable",
			msg:         mail.Message{To: "ada@example.com", Subject: "s", Body: long + "\n"},
			wantRcpt:    "ada@example.com",
			wantTo:      "<ada@example.com>",
			wantSubject: "s",
			wantCTE:     "quoted-printable",
			wantBody:    long + "\r\n",
		},
		{
			name:        "a display name stays in To and the envelope has the bare address",
			msg:         mail.Message{To: "Ada Lovelace <ada@example.com>", Subject: "s", Body: "x"},
			wantRcpt:    "ada@example.com",
			wantTo:      `"Ada Lovelace" <ada@example.com>`,
			wantSubject: "s",
			wantCTE:     "7bit",
			wantBody:    "x\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, m := sendOne(t, tt.msg)
			if len(got.To) != 1 || got.To[0] != tt.wantRcpt {
				t.Errorf("RCPT TO = %q, want [%q]", got.To, tt.wantRcpt)
			}
			if got.From != "noreply@127.0.0.1" {
				t.Errorf("MAIL FROM = %q, want the default noreply@127.0.0.1", got.From)
			}
			if i := strings.Index(strings.ReplaceAll(got.Data, "\r\n", ""), "\n"); i >= 0 {
				t.Errorf("Data has a bare LF at %d:\n%q", i, got.Data)
			}
			h := m.Header
			for name, want := range map[string]string{
				"From":                      "<noreply@127.0.0.1>",
				"To":                        tt.wantTo,
				"MIME-Version":              "1.0",
				"Content-Type":              "text/plain; charset=utf-8",
				"Content-Transfer-Encoding": tt.wantCTE,
			} {
				if got := h.Get(name); got != want {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
			if _, err := h.Date(); err != nil {
				t.Errorf("header Date = %q: %v", h.Get("Date"), err)
			}
			if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@127.0.0.1>") {
				t.Errorf("header Message-ID = %q, want <...@127.0.0.1>", id)
			}
			raw := h.Get("Subject")
			if tt.rawSubject != nil && !tt.rawSubject(raw) {
				t.Errorf("raw Subject = %q, unexpected form", raw)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(raw)
			if err != nil || subject != tt.wantSubject {
				t.Errorf("decoded Subject = %q, %v; want %q", subject, err, tt.wantSubject)
			}
			var body io.Reader = m.Body
			if tt.wantCTE == "quoted-printable" {
				body = quotedprintable.NewReader(m.Body)
			}
			b, err := io.ReadAll(body)
			if err != nil {
				t.Fatalf("reading the body: %v", err)
			}
			if string(b) != tt.wantBody {
				t.Errorf("body = %q, want %q", b, tt.wantBody)
			}
		})
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
