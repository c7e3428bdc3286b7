package storage_test

import (
	"fmt"
	"testing"

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
