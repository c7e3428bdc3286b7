package storage_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
)

// BenchmarkLogin measures the storage cost of a login per database:
// statements/op (counted by a GORM callback) for a returning user
// (GetSocialAuth + UpdateExtraData) and a first login (CreateUser +
// CreateSocialAuth + UpdateExtraData). ratio-vs-sqlite compares each
// database's ns/op with SQLite's in the same run.
func BenchmarkLogin(b *testing.B) {
	targets := dbtest.Targets(b)
	base := map[string]float64{}
	for _, kind := range []string{"returning", "first"} {
		for _, target := range targets {
			b.Run(kind+"/"+target.Name, func(b *testing.B) {
				s := openFresh(b, target, storage.Options{})
				c, err := storage.CountStatements(s.DB())
				if err != nil {
					b.Fatal(err)
				}
				if kind == "returning" {
					firstLogin(b, s, "jsmith")
				}
				c.Reset()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if kind == "returning" {
						returningLogin(b, s, "jsmith")
					} else {
						firstLogin(b, s, fmt.Sprintf("user%d", i))
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(c.Load())/float64(b.N), "statements/op")
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				if target.Name == dbtest.SQLite {
					base[kind] = ns
				}
				if base[kind] > 0 {
					b.ReportMetric(ns/base[kind], "ratio-vs-sqlite")
				}
			})
		}
	}
}

// BenchmarkSocialUserRead is the social_user step's read of a returning
// login, inside the login's transaction, per database: two-calls
// (GetSocialAuth then GetUser) against joined (GetSocialAuthWithUser, one
// statement). x-two-calls is joined's ns/op over two-calls' in the same run.
func BenchmarkSocialUserRead(b *testing.B) {
	for _, target := range dbtest.Targets(b) {
		b.Run(target.Name, func(b *testing.B) {
			s := openFresh(b, target, storage.Options{})
			firstLogin(b, s, "jsmith")
			ctx := b.Context()
			var twoCalls float64
			for _, mode := range []string{"two-calls", "joined"} {
				b.Run(mode, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						err := s.Transaction(ctx, func(tx socialauth.Storage) error {
							if mode == "joined" {
								_, u, err := tx.(socialauth.SocialUserGetter).GetSocialAuthWithUser(ctx, "edx-oauth2", "jsmith")
								if err == nil && u == nil {
									err = errors.New("no owner")
								}
								return err
							}
							sa, err := tx.GetSocialAuth(ctx, "edx-oauth2", "jsmith")
							if err != nil {
								return err
							}
							_, err = tx.GetUser(ctx, sa.UserID)
							return err
						})
						if err != nil {
							b.Fatal(err)
						}
					}
					ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
					if mode == "two-calls" {
						twoCalls = ns
					} else if twoCalls > 0 {
						b.ReportMetric(ns/twoCalls, "x-two-calls")
					}
				})
			}
		})
	}
}
