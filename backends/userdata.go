package backends

import (
	"encoding/json"

	"math"
	"strconv"
	"strings"

	"github.com/socialauth-go/socialauth"
)

// UserDetails maps the provider response with the backend's Details hook, or
// by default reads username, email, fullname/name, first_name and last_name.
//
// The default detail keys: username, email, fullname, first_name, last_name
// (fullname split on its first space when the names are missing, as
// upstream's get_user_names).
func (o *OAuth2) UserDetails(response map[string]any) socialauth.Details {
	if o.cfg.Details != nil {
		return o.cfg.Details(response)
	}
	full := StringOf(response["fullname"])
	if full == "" {
		full = StringOf(response["name"])
	}
	full, first, last := UserNames(full, StringOf(response["first_name"]), StringOf(response["last_name"]))
	return socialauth.Details{
		"username":   StringOf(response["username"]),
		"email":      StringOf(response["email"]),
		"fullname":   full,
		"first_name": first,
		"last_name":  last,
	}
}

// UserNames is upstream's get_user_names: fullname is split on its first
// space when first and last names are missing; all are trimmed.
func UserNames(fullname, first, last string) (string, string, string) {
	fullname, first, last = strings.TrimSpace(fullname), strings.TrimSpace(first), strings.TrimSpace(last)
	if fullname != "" && first == "" && last == "" {
		if f, l, ok := strings.Cut(fullname, " "); ok {
			first, last = f, strings.TrimSpace(l)
		} else {
			first = fullname
		}
	}
	if fullname == "" {
		fullname = strings.TrimSpace(first + " " + last)
	}
	return fullname, first, last
}

// IDKey returns the key of the uid (IDKey, the ID_KEY setting).
func (o *OAuth2) IDKey() string { return o.cfg.IDKey }

// UserID returns details[ID_KEY] when set, else response[ID_KEY], as text.
// A missing or empty uid is an error: no association is ever looked up or
// created with an empty uid.
func (o *OAuth2) UserID(details socialauth.Details, response map[string]any) (string, error) {
	key := o.cfg.IDKey
	uid := StringOf(details[key])
	if uid == "" {
		uid = StringOf(response[key])
	}
	if uid == "" {
		return "", socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "provider response has no usable "+safeCode(key), nil)
	}
	return uid, nil
}

// StringOf formats a JSON scalar as text: strings as is, integral numbers
// without exponent or fraction (json.Number keeps every digit), bools as
// true/false; nil and anything else give "".
func StringOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e15 {
			return strconv.FormatInt(int64(t), 10)
		}
		return strconv.FormatFloat(t, 'f', -1, 64)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

// defaultExtraData are kept whenever the response has a non-empty value
// for them, so that a stored value survives an answer without one.
var defaultExtraData = []string{"refresh_token", "expires_in", "token_type"}

// ExtraData returns what to store in UserSocialAuth.ExtraData: auth_time, the
// ExtraData entries (or every response key with GetAllExtraData), the
// access_token, the non-empty refresh_token, expires_in and token_type, and
// what MoreExtraData adds.
func (o *OAuth2) ExtraData(_ *socialauth.User, uid string, response map[string]any, details socialauth.Details) map[string]any {
	out := map[string]any{"auth_time": o.now().Unix()}
	if o.cfg.GetAllExtraData {
		for k, v := range response {
			out[k] = v
		}
	} else {
		for _, f := range o.cfg.ExtraData {
			alias := f.Alias
			if alias == "" {
				alias = f.Name
			}
			v, ok := response[f.Name]
			if !ok {
				if v, ok = details[f.Name]; !ok {
					v, ok = details[alias]
				}
			}
			if !ok || (f.DiscardIfEmpty && isEmpty(v)) {
				continue
			}
			out[alias] = v
		}
	}
	if at, ok := response["access_token"]; ok {
		out["access_token"] = at
	}
	for _, k := range defaultExtraData {
		if _, kept := out[k]; kept {
			continue
		}
		if v, ok := response[k]; ok && !isEmpty(v) {
			out[k] = v
		}
	}
	if o.cfg.MoreExtraData != nil {
		o.cfg.MoreExtraData(uid, response, details, out)
	}
	return out
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case bool:
		return !t
	case json.Number:
		f, err := t.Float64()
		return err == nil && f == 0
	case float64:
		return t == 0
	case int:
		return t == 0
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}
