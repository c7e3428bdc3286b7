package testutil_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/socialauth-go/socialauth/testutil"
)

func TestLogBufferConcurrentUse(t *testing.T) {
	var lb testutil.LogBuffer
	log := slog.New(slog.NewTextHandler(&lb, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Info("line", "n", i)
			_ = lb.String()
		}()
	}
	wg.Wait()
	if got := strings.Count(lb.String(), "msg=line"); got != 8 {
		t.Fatalf("%d lines, want 8:\n%s", got, lb.String())
	}
	lb.Reset()
	if lb.Len() != 0 || lb.String() != "" {
		t.Error("Reset left data")
	}
}
