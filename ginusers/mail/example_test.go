package mail_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"regexp"
	"strings"

	"github.com/ginusers/kit/ginusers"
	"github.com/ginusers/kit/ginusers/mail"
	"github.com/ginusers/kit/ginusers/storetest"
)

// The hook sends the message to the user's stored address, with the link
// and a token= line that a script can read.
func ExampleVerifyHook() {
	printer := mail.SenderFunc(func(ctx context.Context, msg mail.Message) error {
		fmt.Println("To:", msg.To)
		fmt.Println("Subject:", msg.Subject)
		for line := range strings.SplitSeq(msg.Body, "\n") {
			if strings.HasPrefix(line, "https://") || strings.HasPrefix(line, "token=") {
				fmt.Println(line)
			}
		}
		return nil
	})
	hook, err := mail.VerifyHook[ginusers.NoFields](printer, "https://app.example.com")
	if err != nil {
		log.Fatal(err)
	}
	u := &ginusers.User[ginusers.NoFields]{ID: "42", Email: "ada@example.com"}
	if err := hook(context.Background(), u, "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// To: ada@example.com
	// Subject: Confirm your e-mail address
	// https://app.example.com/verify?token=eyJhbGciOiJIUzI1NiJ9.e30.c2ln
	// token=eyJhbGciOiJIUzI1NiJ9.e30.c2ln
}

// Wiring the hooks into a Manager. Without an SMTP server configured, the
// messages are logged instead (development only: they hold tokens).
func ExampleResetHook() {
	var sender mail.Sender = mail.NewLogSender(nil)
	if host := os.Getenv("SMTP_HOST"); host != "" {
		s, err := mail.NewSMTP(host, 587,
			mail.WithFrom("Example <noreply@example.com>"),
			mail.WithAuth(os.Getenv("SMTP_USER"), os.Getenv("SMTP_PASSWORD")))
		if err != nil {
			log.Fatal(err)
		}
		sender = s
	}
	reset, err := mail.ResetHook[ginusers.NoFields](sender, "https://app.example.com")
	if err != nil {
		log.Fatal(err)
	}
	verify, err := mail.VerifyHook[ginusers.NoFields](sender, "https://app.example.com")
	if err != nil {
		log.Fatal(err)
	}
	m, err := ginusers.New(storetest.NewMemStore[ginusers.NoFields](),
		ginusers.WithSecret([]byte(os.Getenv("APP_SECRET"))),
		ginusers.OnAfterForgotPassword(reset),
		ginusers.OnAfterRequestVerify(verify))
	if err != nil {
		log.Fatal(err)
	}
	_ = m
}

// A script can read the token from a received message.
func ExampleTemplate_Render() {
	msg, err := mail.DefaultResetTemplate().Render(mail.Data{
		Email:    "ada@example.com",
		Link:     "https://app.example.com/reset-password?token=abc",
		Token:    "abc",
		Lifetime: mail.DefaultLifetime,
	})
	if err != nil {
		log.Fatal(err)
	}
	token := regexp.MustCompile(`(?m)^token=(\S+)\r?$`).FindStringSubmatch(msg.Body)[1]
	fmt.Println(msg.Subject)
	fmt.Println(token)
	// Output:
	// Reset your password
	// abc
}
