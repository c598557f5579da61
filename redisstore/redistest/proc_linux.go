package redistest

import (
	"os"
	"os/exec"
	"syscall"
)

// termSignal asks the server to shut down.
var termSignal os.Signal = syscall.SIGTERM

// setParentDeathSignal makes the kernel kill the server if the test binary
// dies without stopping it (a test timeout, a crash).
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
