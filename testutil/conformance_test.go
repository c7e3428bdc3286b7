package testutil_test

import (
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/storagetest"
)

func TestMemStoreConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) socialauth.Storage { return testutil.NewStore() })
}
