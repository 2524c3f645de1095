package main

import (
	"os"
	"testing"
)

// TestMain lets tests run this test binary as the envpipe daemon in a child
// process (ENVPIPE_TEST_AS_MAIN=1), so that crash tests can SIGKILL a real
// envpipe process without building a separate binary.
func TestMain(m *testing.M) {
	if os.Getenv("ENVPIPE_TEST_AS_MAIN") == "1" {
		os.Exit(mainArgs(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
