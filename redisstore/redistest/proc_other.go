//go:build !linux

package redistest

import (
	"os"
	"os/exec"
	"syscall"
)

// termSignal asks the server to shut down.
var termSignal os.Signal = syscall.SIGTERM

// setParentDeathSignal does nothing outside Linux: a server whose test
// binary dies without stopping it keeps running.
func setParentDeathSignal(*exec.Cmd) {}
