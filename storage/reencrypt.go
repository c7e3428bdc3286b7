package storage

import (
	"context"
	"errors"
	"strconv"

	"github.com/socialauth-go/socialauth/internal/fieldcrypt"
)

// ReencryptOptions configure Reencrypt.
type ReencryptOptions struct {
	// Batch is the number of associations per transaction (0: 100).
	Batch int
	// After resumes a run: only associations with an id above it are
	// visited (the LastID of the last progress report).
	After int64
	// Decrypt writes every secret member in plaintext instead: the way out
	// of field encryption (then remove the keys from the configuration).
	Decrypt bool
	// Progress, when set, is called after each batch with the totals so
	// far.
	Progress func(ReencryptResult)
}

// ReencryptResult counts what Reencrypt did.
type ReencryptResult struct {
	// Batches and Rows count the batches committed and the associations
	// visited.
	Batches, Rows int
	// Rewritten counts the associations written; the others already had
	// every secret member under the first key (or, with Decrypt, in
	// plaintext).
	Rewritten int
	// Unreadable lists the ids of associations with a secret member no key
	// decrypts (a retired key, a tampered value). They are left as they
	// are: a fresh sign-in of their user rewrites them.
	Unreadable []int64
	// LastID is the highest id visited: pass it as After to resume.
	LastID int64
}

// errReencryptNoKeys: Reencrypt needs the keys, to decrypt and to encrypt.
var errReencryptNoKeys = errors.New("storage: Reencrypt needs field encryption keys (Options.FieldKeys)")

// Reencrypt rewrites the secret members of every association's extra data
// under the first field encryption key (plaintext members are encrypted,
// members under an older key re-encrypted), or in plaintext with
// opts.Decrypt. It walks the table by id in batches of opts.Batch rows,
// each batch one transaction with its rows locked, so it runs next to
// live sign-ins and can be stopped and resumed (opts.After). Rows whose
// members are already as wanted are not written; rows with a member no key
// decrypts are left alone and listed in the result. The modified time is
// kept.
func (s *Store) Reencrypt(ctx context.Context, opts ReencryptOptions) (ReencryptResult, error) {
	const op = "reencrypt"
	res := ReencryptResult{LastID: opts.After}
	if s.crypt.ring == nil {
		return res, errReencryptNoKeys
	}
	batch := opts.Batch
	if batch <= 0 {
		batch = 100
	}
	for {
		n := 0
		var unreadable []int64
		rewritten := 0
		last := res.LastID
		err := s.tx(ctx, func(tx *Store) error {
			query := "SELECT " + tx.socialCols("") + " FROM " + tx.qi(TableSocialAuth) + " WHERE " + tx.qi("id") + " > ? ORDER BY " + tx.qi("id") + " LIMIT " + strconv.Itoa(batch)
			if tx.dialect != SQLite {
				query += " FOR UPDATE"
			}
			rows, err := tx.q(ctx).Raw(query, last).Rows()
			if err != nil {
				return tx.wrap(op, err)
			}
			var scanned []socialScan
			for rows.Next() {
				var x socialScan
				if err := rows.Scan(x.dest()...); err != nil {
					rows.Close()
					return tx.wrap(op, err)
				}
				scanned = append(scanned, x)
			}
			if err := rows.Err(); err != nil {
				rows.Close()
				return tx.wrap(op, err)
			}
			rows.Close()
			stmt := "UPDATE " + tx.qi(TableSocialAuth) + " SET " + tx.qi("extra_data") + " = ? WHERE " + tx.qi("id") + " = ?"
			for i := range scanned {
				x := &scanned[i]
				n++
				last = x.row.ID
				m, err := x.extraData()
				if err != nil {
					return err
				}
				if !tx.crypt.needsRewrite(x.row.Provider, x.row.UID, m, opts.Decrypt) {
					continue
				}
				if _, bad := tx.crypt.open(x.row.ID, x.row.Provider, x.row.UID, m); len(bad) > 0 {
					unreadable = append(unreadable, x.row.ID)
					continue
				}
				var b []byte
				if opts.Decrypt {
					b, err = marshalExtra(m)
				} else {
					b, _, err = tx.crypt.marshal(x.row.Provider, x.row.UID, m, nil)
				}
				if err != nil {
					return err
				}
				if err := tx.q(ctx).Exec(stmt, string(b), x.row.ID).Error; err != nil {
					return tx.wrap(op, err)
				}
				rewritten++
			}
			tx.held.set(nil)
			return nil
		})
		if err != nil {
			return res, err
		}
		if n == 0 {
			return res, nil
		}
		res.Batches++
		res.Rows += n
		res.Rewritten += rewritten
		res.Unreadable = append(res.Unreadable, unreadable...)
		res.LastID = last
		if opts.Progress != nil {
			opts.Progress(res)
		}
		if n < batch {
			return res, nil
		}
	}
}

// needsRewrite reports whether some secret member of the stored extra data
// m is not as wanted: sealed under an older key (or not decryptable), or
// in plaintext when encrypting, or sealed at all when decrypting.
func (fc *fieldCrypt) needsRewrite(provider, uid string, m map[string]any, decrypt bool) bool {
	for _, name := range fc.secrets {
		v, ok := m[name]
		if !ok || v == nil || v == "" {
			continue
		}
		s, isStr := v.(string)
		if !isStr || !fieldcrypt.IsSealed(s) {
			if !decrypt {
				return true
			}
			continue
		}
		if decrypt {
			return true
		}
		if _, primary, err := fc.ring.Open(s, fieldcrypt.AD(provider, uid, name)); err != nil || !primary {
			return true
		}
	}
	return false
}
