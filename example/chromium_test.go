package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// startChromium starts headless Chromium for the test and returns the
// context of its first tab. The browser lives until timeout, or the end of
// the test; it must start within 30 s. It reaches only the loopback: no
// name resolves but localhost (a test uses it as a second site) and
// app.test (127.0.0.1 under a name that is not a secure context, as a
// development host on the LAN is), and no address but 127.0.0.1 is
// dialled, so a request for another host (a CDN, say) fails at once
// instead of reaching the network.
func startChromium(t *testing.T, timeout time.Duration, width, height int) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%v: this test needs Chromium; install Debian's chromium package (apt-get install chromium), as .ci/run does", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		// CI runs in containers, often as root, where Chromium's sandbox
		// cannot start. The pages are our own, on the loopback.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("host-resolver-rules", "MAP app.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
		chromedp.WindowSize(width, height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	// The first Do binds the browser's life to bctx, so it gets no deadline
	// of its own: the wait below bounds the start.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", chromiumPath, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start within 30 s", chromiumPath)
	}
	return bctx
}
