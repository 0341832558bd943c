package main

import "testing"

// The test binary stands in for karmagate in the end-to-end tests (see
// TestMain): there, and only there, KARMAGATE_FAILPOINT is read.
func init() { failpointsEnabled = true }

// TestConfig_FailpointOnlyInTests: the production binary ignores
// KARMAGATE_FAILPOINT (nothing in a site owner's configuration can make
// karmagate kill itself); the test binary reads and checks it.
func TestConfig_FailpointOnlyInTests(t *testing.T) {
	env := mapEnv("KARMAGATE_FAILPOINT", "kill-after-store")
	failpointsEnabled = false
	defer func() { failpointsEnabled = true }()
	c, err := ConfigFromEnv(env)
	if err == nil && c.Failpoint != "" {
		t.Errorf("the production binary read KARMAGATE_FAILPOINT=%q", c.Failpoint)
	}
	failpointsEnabled = true
	if c, _ := ConfigFromEnv(env); c.Failpoint != "kill-after-store" {
		t.Errorf("the test binary did not read KARMAGATE_FAILPOINT: %q", c.Failpoint)
	}
}
