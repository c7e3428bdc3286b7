// Package testutil holds fakes for testing code built on socialauth: an
// in-memory Storage (MemStore), an in-memory Strategy with a shared Session,
// a FakeBackend that answers with a canned provider response, and NewState,
// a builder of pipeline states for step tests.
//
// Everything here is safe for concurrent use unless stated otherwise, keeps
// no package-level state, and is meant to be used from tests (the test
// binaries of this module and of applications that use it).
//
// The subpackages are separate: testutil/fakelms is a fake edX LMS provider
// and testutil/storagetest is the Storage conformance suite.
package testutil
