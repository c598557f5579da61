package account

import "maps"

// defaultMessages are the texts of the embedded templates, in English.
var defaultMessages = map[string]string{
	"lang":      "en",
	"site.name": "Account",

	"field.email":        "E-mail address",
	"field.password":     "Password",
	"field.new_password": "New password",

	"error.summary":       "The form could not be sent. Please correct it and try again.",
	"error.required":      "This field is required.",
	"error.email_invalid": "Enter a valid e-mail address",

	"sign_in.title":           "Sign in",
	"sign_in.submit":          "Sign in",
	"sign_in.bad_credentials": "The e-mail address or the password is not right.",
	"sign_in.not_verified":    "Verify your e-mail address before you sign in: follow the link in the e-mail we sent you.",
	"sign_in.signed_in_as":    "You are signed in as",
	"sign_in.password_reset":  "Your password has been changed. Sign in with the new one.",
	"sign_in.signed_out":      "You are signed out.",
	"sign_in.forgot":          "Forgot your password?",
	"sign_in.register":        "Create an account",
	"sign_in.verify":          "Send the verification e-mail again",
	"sign_in.with":            "Sign in with",

	"sign_out.title":         "Sign out",
	"sign_out.question":      "Do you want to sign out?",
	"sign_out.submit":        "Sign out",
	"sign_out.not_signed_in": "You are not signed in.",

	"register.title":        "Create an account",
	"register.submit":       "Create the account",
	"register.have_account": "Already have an account? Sign in",
	"register.sent_title":   "Check your e-mail",
	"register.sent":         "We have sent a message to the address you gave. Follow its link to continue. If no message arrives within a few minutes, look in your spam folder.",

	"forgot.title":      "Forgot your password?",
	"forgot.intro":      "Enter the address of your account, and we will send you a link to choose a new password.",
	"forgot.submit":     "Send the link",
	"forgot.sent_title": "Check your e-mail",
	"forgot.sent":       "If an account has this address, we have sent it a link to choose a new password. The link is valid for a limited time.",

	"reset.title":           "Choose a new password",
	"reset.submit":          "Change the password",
	"reset.bad_token_title": "This link does not work",
	"reset.bad_token":       "The link is not valid: it has expired, it has been used already, or the password has changed since it was sent.",
	"reset.request_new":     "Ask for a new link",

	"verify.title":           "Verify your e-mail address",
	"verify.intro":           "Enter the address of your account, and we will send you a new verification link.",
	"verify.submit":          "Send the link",
	"verify.sent_title":      "Check your e-mail",
	"verify.sent":            "If an account has this address and it is not verified yet, we have sent it a verification link.",
	"verify.verified_title":  "Your e-mail address is verified",
	"verify.verified":        "Thank you: the address has been verified.",
	"verify.already_title":   "Already verified",
	"verify.already":         "This address has been verified already.",
	"verify.bad_token_title": "This link does not work",
	"verify.bad_token":       "The verification link is not valid: it has expired, or the address has changed since it was sent.",
	"verify.request_new":     "Ask for a new link",

	"failure.forbidden_title":   "This form cannot be accepted",
	"failure.forbidden":         "The form has expired or was sent from another site. Go back, reload the page and try again.",
	"failure.too_large_title":   "Too much data",
	"failure.too_large":         "The form sent more data than it may.",
	"failure.unavailable_title": "Service unavailable",
	"failure.unavailable":       "The service is unavailable for a moment. Please try again in a few seconds.",
	"failure.internal_title":    "Something went wrong",
	"failure.internal":          "The request could not be completed. Please try again later.",
	"failure.back":              "Back to the sign-in page",
}

// DefaultMessages returns the texts of the pages, by key, in English: the
// table that [WithMessages] changes. Keys name a page ("sign_in.title"),
// a form field ("field.email"), an error ("error.required") or a failure
// page ("failure.forbidden"); "lang" is the pages' language tag and
// "site.name" ends each page's title. The embedded templates use every
// key; templates of your own read them with {{msg "key"}}. The map is a
// copy.
func DefaultMessages() map[string]string { return maps.Clone(defaultMessages) }
