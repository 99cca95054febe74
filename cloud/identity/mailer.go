package identity

import (
	"context"
	"log/slog"
)

// Mail kinds.
const (
	MailVerifyEmail   = "verify_email"
	MailResetPassword = "reset_password"
	MailInvite        = "invite"
)

// Mail is a message carrying a one-time token to a user.
type Mail struct {
	To     string
	UserID string
	// Kind is MailVerifyEmail, MailResetPassword or MailInvite.
	Kind string
	// Token is the secret the user sends back (VerifyEmail or ResetPassword).
	Token string
}

// Mailer delivers one-time tokens to users.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// LogMailer "delivers" mail by logging it at Info: the cloud has no mail
// server configured, so an operator reads verification, reset and
// invitation tokens from the log (docs/operations.md). The token is a
// secret; this is the one log line allowed to carry one.
type LogMailer struct {
	Logger *slog.Logger
}

// Send logs m.
func (l LogMailer) Send(ctx context.Context, m Mail) error {
	l.Logger.InfoContext(ctx, "mail (no mail server configured: deliver by hand)",
		"kind", m.Kind, "to", m.To, "user_id", m.UserID, "token", m.Token)
	return nil
}
