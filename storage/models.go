package storage

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/socialauth-go/socialauth"
)

// jsonMap is a JSON object column (text on SQLite, jsonb on PostgreSQL, json
// on MySQL). NULL and "" read as an empty map; numbers read as json.Number.
type jsonMap map[string]any

// Value encodes the map as JSON text.
func (m jsonMap) Value() (driver.Value, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(map[string]any(m))
	if err != nil {
		return nil, fmt.Errorf("storage: extra data is not JSON-safe: %w", err)
	}
	return string(b), nil
}

// Scan decodes JSON text.
func (m *jsonMap) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case nil:
		*m = jsonMap{}
		return nil
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return fmt.Errorf("storage: cannot scan %T into a JSON object", v)
	}
	if len(b) == 0 {
		*m = jsonMap{}
		return nil
	}
	out, err := decodeObject(b)
	if err != nil {
		return err
	}
	*m = out
	return nil
}

// decodeObject decodes one JSON object with its numbers as json.Number, so
// that an integer beyond 2^53 (an LMS user_id) keeps every digit.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("storage: stored JSON is not an object: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("storage: stored JSON is not an object: trailing data")
	}
	if out == nil { // JSON null
		out = map[string]any{}
	}
	return out, nil
}

// jsonClone deep-copies a JSON-safe map through encoding/json.
func jsonClone(m map[string]any) (map[string]any, error) {
	v, err := jsonMap(m).Value()
	if err != nil {
		return nil, err
	}
	var out jsonMap
	if err := out.Scan(v); err != nil {
		return nil, err
	}
	return out, nil
}

// marshalExtra encodes extra data for the extra_data column (nil as {}).
func marshalExtra(m map[string]any) ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("storage: extra data is not JSON-safe: %w", err)
	}
	return b, nil
}

type socialRow struct {
	ID        int64     `gorm:"column:id;primaryKey;autoIncrement"`
	Provider  string    `gorm:"column:provider"`
	UID       string    `gorm:"column:uid"`
	ExtraData jsonMap   `gorm:"column:extra_data"`
	Created   time.Time `gorm:"column:created"`
	Modified  time.Time `gorm:"column:modified"`
	UserID    string    `gorm:"column:user_id"`
}

func (socialRow) TableName() string { return TableSocialAuth }

func (r *socialRow) model() *socialauth.UserSocialAuth {
	ed := map[string]any(r.ExtraData)
	if ed == nil {
		ed = map[string]any{}
	}
	return &socialauth.UserSocialAuth{ID: r.ID, UserID: r.UserID, Provider: r.Provider, UID: r.UID,
		ExtraData: ed, Created: r.Created.UTC(), Modified: r.Modified.UTC()}
}

type partialRow struct {
	ID        int64     `gorm:"column:id;primaryKey;autoIncrement"`
	Token     string    `gorm:"column:token"`
	NextStep  int       `gorm:"column:next_step"`
	Backend   string    `gorm:"column:backend"`
	Data      jsonMap   `gorm:"column:data"`
	Binding   string    `gorm:"column:binding"`
	Timestamp time.Time `gorm:"column:timestamp"`
}

func (partialRow) TableName() string { return TablePartial }

type nonceRow struct {
	ID        int64  `gorm:"column:id;primaryKey;autoIncrement"`
	ServerURL string `gorm:"column:server_url"`
	Timestamp int64  `gorm:"column:timestamp"`
	Salt      string `gorm:"column:salt"`
}

func (nonceRow) TableName() string { return TableNonce }

type associationRow struct {
	ID        int64  `gorm:"column:id;primaryKey;autoIncrement"`
	ServerURL string `gorm:"column:server_url"`
	Handle    string `gorm:"column:handle"`
	Secret    string `gorm:"column:secret"`
	Issued    int64  `gorm:"column:issued"`
	Lifetime  int64  `gorm:"column:lifetime"`
	AssocType string `gorm:"column:assoc_type"`
}

func (associationRow) TableName() string { return TableAssociation }

type codeRow struct {
	ID        int64     `gorm:"column:id;primaryKey;autoIncrement"`
	Email     string    `gorm:"column:email"`
	Code      string    `gorm:"column:code"`
	Verified  bool      `gorm:"column:verified"`
	Timestamp time.Time `gorm:"column:timestamp"`
}

func (codeRow) TableName() string { return TableCode }

type sessionRow struct {
	Token    string     `gorm:"column:token;primaryKey"`
	Data     []byte     `gorm:"column:data"`
	Expiry   time.Time  `gorm:"column:expiry"`
	UserID   string     `gorm:"column:user_id"`
	Backend  string     `gorm:"column:backend"`
	SID      string     `gorm:"column:sid"`
	Created  *time.Time `gorm:"column:created"`
	LastSeen *time.Time `gorm:"column:last_seen"`
}

func (sessionRow) TableName() string { return TableSessions }
