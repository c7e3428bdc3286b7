package storage_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/internal/sessionrotate"
	"github.com/socialauth-go/socialauth/storage"
)

// TestSessionRotationInOneWrite: a delete asked for during an armed
// rotation is deferred, and the commit renames the old row to the new token
// in one statement; without a commit, Finish deletes the old row; a delete
// outside the rotation (logout) happens at once.
func TestSessionRotationInOneWrite(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			ss := s.SessionStore()
			c, err := storage.CountStatements(s.DB())
			if err != nil {
				t.Fatal(err)
			}
			exp := time.Now().Add(time.Hour)
			mustCommit := func(ctx context.Context, tok string, data []byte) {
				t.Helper()
				if err := ss.CommitCtx(ctx, tok, data, exp); err != nil {
					t.Fatalf("CommitCtx(%s): %v", tok, err)
				}
			}
			find := func(tok string) ([]byte, bool) {
				t.Helper()
				b, ok, err := ss.FindCtx(context.Background(), tok)
				if err != nil {
					t.Fatalf("FindCtx(%s): %v", tok, err)
				}
				return b, ok
			}
			rotate := func(ctx context.Context, old string) {
				t.Helper()
				rot := sessionrotate.From(ctx)
				rot.Arm()
				defer rot.Disarm()
				if err := ss.DeleteCtx(ctx, old); err != nil {
					t.Fatalf("DeleteCtx(%s): %v", old, err)
				}
			}

			// Rotation taken by the commit: one statement, old gone.
			mustCommit(context.Background(), "old1", []byte("pre"))
			ctx, rot := sessionrotate.With(context.Background())
			c.Reset()
			rotate(ctx, "old1")
			if _, ok := find("old1"); !ok {
				t.Fatal("the deferred delete ran at once")
			}
			c.Reset()
			mustCommit(ctx, "new1", []byte("post"))
			if n := c.Reset(); n != 1 {
				t.Errorf("rotating commit ran %d statements, want 1", n)
			}
			if _, ok := find("old1"); ok {
				t.Error("the old token survives the rotating commit")
			}
			if b, ok := find("new1"); !ok || !bytes.Equal(b, []byte("post")) {
				t.Errorf("new token: %q, %v; want the committed data", b, ok)
			}
			if err := rot.Finish(ctx); err != nil {
				t.Fatal(err)
			}

			// The old row vanished meanwhile: the commit inserts.
			ctx, _ = sessionrotate.With(context.Background())
			rotate(ctx, "gone")
			mustCommit(ctx, "new2", []byte("x"))
			if _, ok := find("new2"); !ok {
				t.Error("the rotating commit without an old row stored nothing")
			}

			// No commit: Finish deletes the old token.
			mustCommit(context.Background(), "old3", []byte("pre"))
			ctx, rot = sessionrotate.With(context.Background())
			rotate(ctx, "old3")
			if err := rot.Finish(ctx); err != nil {
				t.Fatal(err)
			}
			if _, ok := find("old3"); ok {
				t.Error("Finish left the old token")
			}

			// Not armed (Destroy at logout): deleted at once.
			mustCommit(context.Background(), "old4", []byte("pre"))
			ctx, _ = sessionrotate.With(context.Background())
			if err := ss.DeleteCtx(ctx, "old4"); err != nil {
				t.Fatal(err)
			}
			if _, ok := find("old4"); ok {
				t.Error("a delete outside a rotation was deferred")
			}
		})
	}
}
