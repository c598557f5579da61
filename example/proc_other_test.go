//go:build !linux

package main

import "os/exec"

// killGroupOnCancel does nothing outside Linux: the cancellation of cmd's
// context kills cmd only, and its children may outlive it (cmd.WaitDelay
// still bounds the wait for their output).
func killGroupOnCancel(*exec.Cmd) {}
