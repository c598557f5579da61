package smtptest_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginusers/kit/ginusers/mail/smtptest"
)

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial opens a net/smtp client to srv.
func dial(t *testing.T, srv *smtptest.Server) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatalf("smtp.Dial() error = %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestServerWithNetSMTP(t *testing.T) {
	tests := []struct {
		name     string
		opts     []smtptest.Option
		send     func(t *testing.T, srv *smtptest.Server) error
		wantCode int // 0: success
		wantTLS  bool
		wantUser string
	}{
		{
			name: "smtp.SendMail delivers in clear",
			send: func(t *testing.T, srv *smtptest.Server) error {
				return smtp.SendMail(srv.Addr(), nil, "from@example.com", []string{"ada@example.com"}, []byte("Subject: hi\r\n\r\nbody\r\n"))
			},
		},
		{
			name: "STARTTLS with the server's certificate and AUTH PLAIN",
			opts: []smtptest.Option{smtptest.WithTLS(), smtptest.WithAuth("app", "s3cret")},
			send: func(t *testing.T, srv *smtptest.Server) error {
				c := dial(t, srv)
				cfg := srv.ClientTLSConfig()
				cfg.ServerName = "127.0.0.1"
				if err := c.StartTLS(cfg); err != nil {
					return err
				}
				if err := c.Auth(smtp.PlainAuth("", "app", "s3cret", "127.0.0.1")); err != nil {
					return err
				}
				return sendOn(c)
			},
			wantTLS:  true,
			wantUser: "app",
		},
		{
			name: "the certificate is valid for localhost too",
			opts: []smtptest.Option{smtptest.WithTLS()},
			send: func(t *testing.T, srv *smtptest.Server) error {
				c := dial(t, srv)
				if err := c.StartTLS(&tls.Config{RootCAs: srv.CertPool(), ServerName: "localhost"}); err != nil {
					return err
				}
				return sendOn(c)
			},
			wantTLS: true,
		},
		{
			name: "implicit TLS",
			opts: []smtptest.Option{smtptest.WithImplicitTLS()},
			send: func(t *testing.T, srv *smtptest.Server) error {
				conn, err := tls.Dial("tcp", srv.Addr(), srv.ClientTLSConfig())
				if err != nil {
					return err
				}
				c, err := smtp.NewClient(conn, "127.0.0.1")
				if err != nil {
					return err
				}
				defer c.Close()
				if ok, _ := c.Extension("STARTTLS"); ok {
					t.Error("STARTTLS offered over implicit TLS")
				}
				return sendOn(c)
			},
			wantTLS: true,
		},
		{
			name: "wrong credentials get 535",
			opts: []smtptest.Option{smtptest.WithAuth("app", "s3cret")},
			send: func(t *testing.T, srv *smtptest.Server) error {
				return dial(t, srv).Auth(smtp.PlainAuth("", "app", "nope", "127.0.0.1"))
			},
			wantCode: 535,
		},
		{
			name: "a wrong username gets 535",
			opts: []smtptest.Option{smtptest.WithAuth("app", "s3cret")},
			send: func(t *testing.T, srv *smtptest.Server) error {
				return dial(t, srv).Auth(smtp.PlainAuth("", "other", "s3cret", "127.0.0.1"))
			},
			wantCode: 535,
		},
		{
			name: "MAIL without AUTH gets 530 when AUTH is required",
			opts: []smtptest.Option{smtptest.WithAuth("app", "s3cret")},
			send: func(t *testing.T, srv *smtptest.Server) error {
				c := dial(t, srv)
				if err := c.Hello("localhost"); err != nil {
					return err
				}
				return c.Mail("from@example.com")
			},
			wantCode: 530,
		},
		{
			name: "WithFailure on DATA refuses the message after its content",
			opts: []smtptest.Option{smtptest.WithFailure("DATA", 554)},
			send: func(t *testing.T, srv *smtptest.Server) error {
				return sendOn(dial(t, srv))
			},
			wantCode: 554,
		},
		{
			name: "WithFailure on RCPT refuses the recipient",
			opts: []smtptest.Option{smtptest.WithFailure("rcpt", 550)},
			send: func(t *testing.T, srv *smtptest.Server) error {
				return sendOn(dial(t, srv))
			},
			wantCode: 550,
		},
		{
			name: "STARTTLS is not offered without WithTLS",
			send: func(t *testing.T, srv *smtptest.Server) error {
				c := dial(t, srv)
				if ok, _ := c.Extension("STARTTLS"); ok {
					t.Error("STARTTLS offered without WithTLS")
				}
				return c.StartTLS(&tls.Config{InsecureSkipVerify: true})
			},
			wantCode: 502,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, tt.opts...)
			err := tt.send(t, srv)
			if tt.wantCode != 0 {
				var te *textproto.Error
				if !errors.As(err, &te) || te.Code != tt.wantCode {
					t.Fatalf("error = %v, want reply code %d", err, tt.wantCode)
				}
				if n := len(srv.Messages()); n != 0 {
					t.Errorf("Messages() has %d messages, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			got, err := srv.WaitMessage(waitCtx(t))
			if err != nil {
				t.Fatalf("WaitMessage() error = %v", err)
			}
			if got.TLS != tt.wantTLS || got.AuthUser != tt.wantUser {
				t.Errorf("Received TLS %v, AuthUser %q; want %v, %q", got.TLS, got.AuthUser, tt.wantTLS, tt.wantUser)
			}
			if got.From != "from@example.com" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
				t.Errorf("envelope %q -> %q, want from@example.com -> [ada@example.com]", got.From, got.To)
			}
			if got.Data != "Subject: hi\r\n\r\nbody\r\n" {
				t.Errorf("Data = %q", got.Data)
			}
		})
	}
}

// sendOn sends the test message on an open client.
func sendOn(c *smtp.Client) error {
	if err := c.Mail("from@example.com"); err != nil {
		return err
	}
	if err := c.Rcpt("ada@example.com"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte("Subject: hi\r\n\r\nbody\r\n")); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// TestServerProtocol talks to the server line by line.
func TestServerProtocol(t *testing.T) {
	type step struct{ send, want string } // want: the reply code, or a full first line
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name  string
		opts  []smtptest.Option
		steps []step
		want  []smtptest.Received
	}{
		{
			// go-smtp answers a command out of order with 502 where RFC
			// 5321 has 503; a nested MAIL gets smtptest's own 503.
			name: "commands out of order are refused and RSET clears the transaction",
			steps: []step{
				{"MAIL FROM:<a@example.com>", "502"},
				{"HELO client.example", "250"},
				{"RCPT TO:<b@example.com>", "502"},
				{"DATA", "502"},
				{"MAIL FROM:<a@example.com>", "250"},
				{"MAIL FROM:<a@example.com>", "503"},
				{"RSET", "250"},
				{"RCPT TO:<b@example.com>", "502"},
				{"NOOP", "250"},
				{"VRFY b@example.com", "252"},
				{"QUIT", "221"},
			},
		},
		{
			name: "DATA is dot-unstuffed and several recipients are kept",
			steps: []step{
				{"EHLO client.example", "250"},
				{"mail from:<a@example.com> BODY=8BITMIME", "250"},
				{"RCPT TO:<b@example.com>", "250"},
				{"RCPT TO:<c@example.com>", "250"},
				{"DATA", "354"},
				{"Subject: x\r\n\r\n..leading dot\r\n.\r\n", "250"},
				{"QUIT", "221"},
			},
			want: []smtptest.Received{{Helo: "client.example", From: "a@example.com", To: []string{"b@example.com", "c@example.com"}, Data: "Subject: x\r\n\r\n.leading dot\r\n"}},
		},
		{
			name: "AUTH PLAIN with the response on the next line",
			opts: []smtptest.Option{smtptest.WithAuth("app", "s3cret")},
			steps: []step{
				{"EHLO client.example", "250"},
				{"AUTH PLAIN", "334"},
				{b64("\x00app\x00s3cret"), "235"},
				{"AUTH PLAIN " + b64("\x00app\x00s3cret"), "503"},
				{"MAIL FROM:<>", "250"},
				{"RCPT TO:<b@example.com>", "250"},
				{"DATA", "354"},
				{"x\r\n.\r\n", "250"},
			},
			want: []smtptest.Received{{Helo: "client.example", From: "", To: []string{"b@example.com"}, Data: "x\r\n", AuthUser: "app"}},
		},
		{
			// Garbage gets go-smtp's 454.
			name: "AUTH rejects other mechanisms, garbage and cancellation",
			opts: []smtptest.Option{smtptest.WithAuth("app", "s3cret")},
			steps: []step{
				{"AUTH PLAIN " + b64("\x00app\x00s3cret"), "502"},
				{"EHLO client.example", "250"},
				{"AUTH LOGIN", "504"},
				{"AUTH PLAIN !!!", "454"},
				{"AUTH PLAIN " + b64("app:s3cret"), "454"},
				{"AUTH PLAIN", "334"},
				{"*", "501"},
				{"AUTH PLAIN " + b64("other\x00app\x00s3cret"), "535"},
				{"MAIL FROM:<a@example.com>", "530"},
			},
		},
		{
			name: "WithFailure answers the command with its code",
			opts: []smtptest.Option{smtptest.WithAuth("app", "s3cret"), smtptest.WithFailure("auth", 454), smtptest.WithFailure("MAIL", 451)},
			steps: []step{
				{"EHLO client.example", "250"},
				{"AUTH PLAIN " + b64("\x00app\x00s3cret"), "454"},
				{"MAIL FROM:<a@example.com>", "451"},
			},
		},
		{
			name: "a command line over 4096 bytes gets 500",
			steps: []step{
				{"EHLO " + strings.Repeat("x", 5000), "500"},
			},
		},
		{
			name: "a message line over 4096 bytes gets 554",
			steps: []step{
				{"EHLO client.example", "250"},
				{"MAIL FROM:<a@example.com>", "250"},
				{"RCPT TO:<b@example.com>", "250"},
				{"DATA", "354"},
				{strings.Repeat("x", 5000) + "\r\n.\r\n", "554"},
			},
		},
		{
			name: "a hundred recipients are kept and the next gets 452",
			steps: append(append([]step{
				{"EHLO client.example", "250"},
				{"MAIL FROM:<a@example.com>", "250"},
			}, slices.Repeat([]step{{"RCPT TO:<b@example.com>", "250"}}, 100)...),
				step{"RCPT TO:<c@example.com>", "452"}),
		},
		{
			name: "AUTH is not offered without WithAuth",
			steps: []step{
				{"EHLO client.example", "250"},
				{"AUTH PLAIN " + b64("\x00app\x00s3cret"), "502"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, tt.opts...)
			conn, err := textproto.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, _, err := conn.ReadResponse(220); err != nil {
				t.Fatalf("greeting: %v", err)
			}
			for _, st := range tt.steps {
				if strings.HasSuffix(st.send, "\r\n") {
					_, err = conn.W.WriteString(st.send)
					if err == nil {
						err = conn.W.Flush()
					}
				} else {
					err = conn.PrintfLine("%s", st.send)
				}
				if err != nil {
					t.Fatalf("sending %q: %v", st.send, err)
				}
				code, msg, err := conn.ReadResponse(0)
				if err != nil {
					t.Fatalf("reply to %q: %v", st.send, err)
				}
				if got := strconv.Itoa(code); got != st.want {
					t.Errorf("%q got %d %s, want %s", st.send, code, msg, st.want)
				}
			}
			got := srv.Messages()
			if len(got) != len(tt.want) {
				t.Fatalf("Messages() = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Helo != w.Helo || g.From != w.From || strings.Join(g.To, ",") != strings.Join(w.To, ",") || g.Data != w.Data || g.AuthUser != w.AuthUser || g.TLS != w.TLS {
					t.Errorf("Messages()[%d] = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestServerAccessors(t *testing.T) {
	srv := smtptest.NewServer(t)
	host, port, err := net.SplitHostPort(srv.Addr())
	if err != nil || host != srv.Host() || host != "127.0.0.1" || port != strconv.Itoa(srv.Port()) {
		t.Errorf("Addr() = %q, Host() = %q, Port() = %d; want 127.0.0.1:<port>", srv.Addr(), srv.Host(), srv.Port())
	}
	if srv.CertPool() != nil || srv.ClientTLSConfig() != nil {
		t.Error("CertPool() and ClientTLSConfig() of a server without TLS are not nil")
	}
	if err := smtp.SendMail(srv.Addr(), nil, "f@example.com", []string{"a@example.com"}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	srv.Messages()[0].To[0] = "changed"
	if got := srv.Messages()[0].To[0]; got != "a@example.com" {
		t.Errorf("Messages() shares its To slices: got %q after a change, want a@example.com", got)
	}
	tlsSrv := smtptest.NewServer(t, smtptest.WithTLS())
	if tlsSrv.CertPool() == nil || tlsSrv.ClientTLSConfig() == nil || tlsSrv.ClientTLSConfig() == tlsSrv.ClientTLSConfig() {
		t.Error("ClientTLSConfig() of a TLS server should return a new config each time")
	}
}

func TestWaitMessage(t *testing.T) {
	t.Run("it returns messages in order, each once", func(t *testing.T) {
		srv := smtptest.NewServer(t)
		var wg sync.WaitGroup
		for _, to := range []string{"a@example.com", "b@example.com"} {
			if err := smtp.SendMail(srv.Addr(), nil, "f@example.com", []string{to}, []byte("x\r\n")); err != nil {
				t.Fatal(err)
			}
		}
		// A message sent while WaitMessage waits wakes it up.
		for _, want := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			if want == "c@example.com" {
				wg.Go(func() {
					if err := smtp.SendMail(srv.Addr(), nil, "f@example.com", []string{want}, []byte("x\r\n")); err != nil {
						t.Error(err)
					}
				})
			}
			got, err := srv.WaitMessage(waitCtx(t))
			if err != nil || len(got.To) != 1 || got.To[0] != want {
				t.Fatalf("WaitMessage() = %+v, %v; want a message to %s", got, err, want)
			}
		}
		wg.Wait()
		if n := len(srv.Messages()); n != 3 {
			t.Errorf("Messages() has %d messages, want 3", n)
		}
	})
	t.Run("it stops when its context ends", func(t *testing.T) {
		srv := smtptest.NewServer(t)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := srv.WaitMessage(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitMessage() error = %v, want %v", err, context.DeadlineExceeded)
		}
	})
	t.Run("it stops when the server closes", func(t *testing.T) {
		srv := smtptest.NewServer(t)
		srv.Close()
		srv.Close() // a second Close is harmless
		if _, err := srv.WaitMessage(waitCtx(t)); err == nil {
			t.Error("WaitMessage() on a closed server: error = nil")
		}
		if _, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
			t.Error("the closed server still accepts connections")
		}
	})
	t.Run("Close ends open connections", func(t *testing.T) {
		srv := smtptest.NewServer(t)
		conn, err := textproto.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, _, err := conn.ReadResponse(220); err != nil {
			t.Fatal(err)
		}
		srv.Close() // returns only when the connection's goroutine is done
		if _, err := conn.ReadLine(); err == nil {
			t.Error("the connection is still open after Close")
		}
	})
}

// fatalTB records the message of Fatalf and ends the calling goroutine, as
// testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWithFailureOfACommandGoSMTPAnswersFailsTheTest(t *testing.T) {
	for _, cmd := range []string{"EHLO", "helo", "STARTTLS", "QUIT"} {
		t.Run(cmd, func(t *testing.T) {
			ft := &fatalTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				smtptest.NewServer(ft, smtptest.WithFailure(cmd, 421))
			}()
			<-done
			if !strings.Contains(ft.msg, "WithFailure") {
				t.Errorf("NewServer(WithFailure(%q)) Fatalf message = %q, want one that names WithFailure", cmd, ft.msg)
			}
		})
	}
}
