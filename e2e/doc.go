// Package e2e holds the end-to-end test of the demo (cmd/demo) in a real
// browser: it builds the demo, starts it on free loopback ports with its
// embedded fake LMS and a temporary SQLite database, and drives headless
// Chromium through a sign-in and a sign-out with chromedp.
//
// Chromium is taken from SOCIALAUTH_TEST_CHROMIUM, else /usr/bin/chromium
// (Debian's chromium package, installed by .ci/services). Without one the
// test is skipped, except under CI=true, where it fails.
package e2e
