package strategies

import (
	"encoding/json"
	"fmt"
	"time"
)

// SessionCodec is an scs.Codec that stores session data as typed JSON. It
// keeps the exact Go type of every value a Strategy stores (string, bool,
// int, int64, float64, []string, map[string]string, []byte, time.Time), so a
// value read back is the value written, whatever the session store, and it
// needs no gob.Register call (encoding/gob cannot encode a map[string]string
// held in an interface without one). NewSessionManager installs it.
//
// A value of any other type makes Encode fail with an error naming the key
// and the type, never the value.
type SessionCodec struct{}

type wireSession struct {
	Deadline time.Time            `json:"deadline"`
	Values   map[string]wireValue `json:"values"`
}

type wireValue struct {
	Type  string          `json:"t"`
	Value json.RawMessage `json:"v"`
}

// Encode implements scs.Codec.
func (SessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	w := wireSession{Deadline: deadline, Values: make(map[string]wireValue, len(values))}
	for k, v := range values {
		var tag string
		switch v.(type) {
		case string:
			tag = "string"
		case bool:
			tag = "bool"
		case int:
			tag = "int"
		case int64:
			tag = "int64"
		case float64:
			tag = "float64"
		case []string:
			tag = "[]string"
		case map[string]string:
			tag = "map[string]string"
		case []byte:
			tag = "[]byte"
		case time.Time:
			tag = "time"
		default:
			return nil, fmt.Errorf("strategies: session value %q has unsupported type %T", k, v)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("strategies: session value %q: %w", k, err)
		}
		w.Values[k] = wireValue{Type: tag, Value: raw}
	}
	return json.Marshal(w)
}

// Decode implements scs.Codec.
func (SessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var w wireSession
	if err := json.Unmarshal(b, &w); err != nil {
		return time.Time{}, nil, fmt.Errorf("strategies: malformed session data: %w", err)
	}
	values := make(map[string]any, len(w.Values))
	for k, wv := range w.Values {
		v, err := decodeValue(wv)
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("strategies: session value %q: %w", k, err)
		}
		values[k] = v
	}
	return w.Deadline, values, nil
}

func decodeValue(wv wireValue) (any, error) {
	switch wv.Type {
	case "string":
		return decodeAs[string](wv.Value)
	case "bool":
		return decodeAs[bool](wv.Value)
	case "int":
		return decodeAs[int](wv.Value)
	case "int64":
		return decodeAs[int64](wv.Value)
	case "float64":
		return decodeAs[float64](wv.Value)
	case "[]string":
		v, err := decodeAs[[]string](wv.Value)
		if err == nil && v == nil {
			v = []string{}
		}
		return v, err
	case "map[string]string":
		v, err := decodeAs[map[string]string](wv.Value)
		if err == nil && v == nil {
			v = map[string]string{}
		}
		return v, err
	case "[]byte":
		return decodeAs[[]byte](wv.Value)
	case "time":
		return decodeAs[time.Time](wv.Value)
	}
	return nil, fmt.Errorf("unknown type tag %q", wv.Type)
}

func decodeAs[T any](raw json.RawMessage) (T, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}
