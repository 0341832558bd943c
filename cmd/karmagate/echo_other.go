//go:build !linux

package main

import "os"

// noEcho cannot turn a terminal's echo off on this system: the password
// shows as it is typed.
func noEcho(*os.File) func() { return nil }
