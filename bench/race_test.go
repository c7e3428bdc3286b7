//go:build race

package bench

// raceEnabled reports whether the tests run under the race detector, which
// makes every login several times slower: the longest tests take fewer
// rounds then.
const raceEnabled = true
