package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAccountProviderLinkInBrowser signs in with the OpenID provider from
// the account pages in headless Chromium, without a line of script: click
// "Sign in with <provider>" on /sign-in, sign in at the provider, and land
// back on /sign-in, signed in; the example's API then knows the user by
// the cookie.
func TestAccountProviderLinkInBrowser(t *testing.T) {
	base, op := startExampleWithOIDC(t, nil)
	ctx := startChromium(t, 2*time.Minute, 1000, 800)
	opHost := strings.TrimPrefix(op.Issuer(), "http://")

	if h := open(t, ctx, base+"/sign-in"); h != "Sign in" {
		t.Fatalf("/sign-in shows %q", h)
	}
	checkPageAccessible(t, ctx, "sign-in with a provider")
	if link := text(t, ctx, "ul.providers a"); link != "Sign in with "+opHost {
		t.Fatalf("the provider's link says %q, want %q", link, "Sign in with "+opHost)
	}
	act(t, ctx, "click the provider's link", chromedp.Click(chromedp.CSS("ul.providers a")))

	// The provider's login page (oidctest's takes the user in its query,
	// as a person would type it into a form).
	login := waitLocation(t, ctx, func(u string) bool { return strings.HasPrefix(u, op.Issuer()+"/login?") })
	act(t, ctx, "sign in at the provider", chromedp.Navigate(login+"&sub=arthur-1"), chromedp.WaitVisible(chromedp.CSS("#signed-in-as")))
	if where := read(t, ctx, "location", chromedp.Location()); where != base+"/sign-in" {
		t.Fatalf("after the provider, the browser is at %s, want %s/sign-in", where, base)
	}
	if who := text(t, ctx, "#signed-in-as"); who != "king.arthur@camelot.bt" {
		t.Fatalf("/sign-in says signed in as %q, want king.arthur@camelot.bt", who)
	}
	act(t, ctx, "/authenticated-route", chromedp.Navigate(base+"/authenticated-route"))
	if body := text(t, ctx, "body"); !strings.Contains(body, "Hello king.arthur@camelot.bt!") {
		t.Fatalf("GET /authenticated-route in the browser = %s", body)
	}
}

// waitLocation waits, up to 20 s, until the tab's location satisfies ok,
// and returns it.
func waitLocation(t *testing.T, ctx context.Context, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		u := read(t, ctx, "location", chromedp.Location())
		if ok(u) {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser stayed at %s", u)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
